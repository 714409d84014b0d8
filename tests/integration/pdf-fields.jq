# SPDX-License-Identifier: Apache-2.0
# The newest signature field of a PDF (qpdf --json=2 output): is it in
# the form's /Fields and on its page's /Annots, with /SigFlags 3, and does
# its /V name a PAdES signature dictionary?
. as $d
| def o($v): if ($v | type) == "string" and ($v | test("^[0-9]+ [0-9]+ R$"))
    then ($d.qpdf[1]["obj:" + $v] | .value // .stream.dict) else $v end;
$d.qpdf[1].trailer.value as $t
| o(o($t["/Root"])["/AcroForm"]) as $form
| [$d.qpdf[1] | to_entries[] | select((.value.value | type) == "object" and .value.value["/FT"] == "/Sig")
    | .key | ltrimstr("obj:")] | sort_by(split(" ")[0] | tonumber) | last as $f
| o($f) as $field
| "field=\($f | split(" ")[0]) in-fields=\(o($form["/Fields"]) | index($f) != null)"
  + " sigflags=\($form["/SigFlags"]) on-page=\(o(o($field["/P"])["/Annots"]) | index($f) != null)"
  + " sig=\(o($field["/V"]) | .["/Type"] == "/Sig" and .["/SubFilter"] == "/ETSI.CAdES.detached")"
  + " widget=\($field["/Subtype"] == "/Widget" and $field["/F"] == 132 and $field["/Rect"] == [0, 0, 0, 0])"
  + " id=\($t["/ID"][0] // "none") root=\($t["/Root"])"
