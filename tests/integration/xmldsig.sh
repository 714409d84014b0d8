# SPDX-License-Identifier: Apache-2.0
# The XML signature modules on their own (tests/integration/xmldsig-probe):
# signatures made on the token by gw_xmldsig (libxml2 exclusive C14N,
# OpenSSL digests, the token signs SignedInfo) verify with xmlsec1, in the
# Vero renewal profile (enveloped, URI="") and the WS-Security one
# (References to wsu:Ids), RSA and ECDSA, SHA-1 and SHA-2; a changed
# document does not. gw_xmlverify (xmlsec) accepts signatures xmlsec1
# made, InclusiveNamespaces PrefixList included, and refuses tampering,
# SHA-1 unless allowed, untrusted signers, CA files without a root and
# foreign references.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
XSD=$SG_SRCDIR/tests/sim/vero-certservice/CertificateServices.xsd
make_token
make_ca x
make_ca other
# key_with_cert LABEL TYPE: a token key with a certificate from CA x.
key_with_cert() { token_identity "$1" "$2" "issue_cert x" --subject "C=FI,O=Example Oy,CN=1234567-8"; }
key_with_cert rsa rsa:2048
key_with_cert ec ec:p256
probe_sign() { xmldsig-probe sign --pin-file "$W/pin" "$@"; }
# xmlsec1 verification of a WS-Security message (wsu:Id on Body and Timestamp).
xmlsec_verify_ws() {
    xmlsec1 --verify --trusted-pem "$W/ca-x.pem" --id-attr:Id "$S12:Body" --id-attr:Id "$WSU:Timestamp" "$1"
}

# --- Vero renewal profile: enveloped, Reference URI="" ---
cat > "$W/renew.xml" <<'EOF'
<ns:RenewCertificateRequest xmlns:ns="http://certificates.vero.fi/2017/10/certificateservices"><Environment>TEST</Environment><CustomerId>1234567-8</CustomerId><CustomerName>Example  Oy &amp; Co</CustomerName><CertificateRequest>AAAA</CertificateRequest></ns:RenewCertificateRequest>
EOF
check "enveloped signature made on the token" probe_sign --key rsa < "$W/renew.xml"
cp "$W/last.out" "$W/renew-signed.xml"
check "xmlsec1 verifies it against the CA" xmlsec1 --verify --trusted-pem "$W/ca-x.pem" "$W/renew-signed.xml"
check "the signed request validates against the Vero XSD" xmllint --noout --schema "$XSD" "$W/renew-signed.xml"
sig=$(xmllint --xpath 'string(//*[local-name()="SignatureMethod"]/@Algorithm)' "$W/renew-signed.xml")
expect_eq "rsa-sha256 by default" "$sig" http://www.w3.org/2001/04/xmldsig-more#rsa-sha256
expect_eq "transforms: enveloped, then exc-c14n" \
    "$(xmllint --xpath '//*[local-name()="Transform"]/@Algorithm' "$W/renew-signed.xml" | tr -d ' \n')" \
    'Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"'
check "gw_xmlverify accepts it" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/renew-signed.xml"
expect_eq "and reports the whole document as signed" "$(cat "$W/last.out")" RenewCertificateRequest
sed 's/1234567-8</7654321-8</' "$W/renew-signed.xml" > "$W/renew-tampered.xml"
check_exit 1 "xmlsec1 refuses a changed CustomerId" xmlsec1 --verify --trusted-pem "$W/ca-x.pem" "$W/renew-tampered.xml"
check_exit 1 "gw_xmlverify refuses it" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/renew-tampered.xml"
expect_match "with a reason" "$(cat "$W/last.err")" 'does not verify'
check_exit 1 "a signer from another CA is refused" xmldsig-probe verify --ca "$W/ca-other.pem" < "$W/renew-signed.xml"
expect_match "as untrusted" "$(cat "$W/last.err")" 'not trusted'
check_exit 1 "a CA file without a root (self-signed) certificate is refused" \
    xmldsig-probe verify --ca "$W/rsa.pem" < "$W/renew-signed.xml"
expect_match "  when it is loaded, not as an untrusted signer" "$(cat "$W/last.err")" 'no CA certificate'
# A comment and an indented copy: C14N drops comments and keeps whitespace.
printf '<!-- before -->\n<r:Doc xmlns:r="urn:r">\n  <a>x</a><!-- inside -->\n</r:Doc>\n' > "$W/comments.xml"
check "a document with comments and whitespace signs" probe_sign --key rsa < "$W/comments.xml"
cp "$W/last.out" "$W/comments-signed.xml"
check "and verifies with xmlsec1" xmlsec1 --verify --trusted-pem "$W/ca-x.pem" "$W/comments-signed.xml"

# --- WS-Security profile: References to wsu:Ids ---
cat > "$W/soap.xml" <<EOF
<soap:Envelope xmlns:soap="$S12" xmlns:wsu="$WSU"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" soap:mustUnderstand="1"><wsu:Timestamp wsu:Id="TS-1"><wsu:Created>2026-11-20T10:00:00Z</wsu:Created><wsu:Expires>2026-11-20T10:05:00Z</wsu:Expires></wsu:Timestamp></wsse:Security></soap:Header><soap:Body wsu:Id="B-1"><m:Hello xmlns:m="urn:x">hi  there</m:Hello></soap:Body></soap:Envelope>
EOF
for alg in "rsa rsa-sha256 sha256" "rsa rsa-sha512 sha512" "rsa rsa-sha1 sha1" "ec ecdsa-sha256 sha256"; do
    set -- $alg
    check "$2/$3 over Body and Timestamp" probe_sign --key "$1" --alg "$2" --digest "$3" --ref B-1 --ref TS-1 \
        --parent Security < "$W/soap.xml"
    cp "$W/last.out" "$W/soap-$2.xml"
    check "xmlsec1 verifies $2/$3" xmlsec_verify_ws "$W/soap-$2.xml"
done
check "gw_xmlverify accepts rsa-sha256" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/soap-rsa-sha256.xml"
expect_eq "and names the signed parts" "$(tr '\n' ' ' < "$W/last.out")" "Body Timestamp "
check "gw_xmlverify accepts ecdsa-sha256" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/soap-ecdsa-sha256.xml"
check_exit 1 "SHA-1 is refused unless allowed" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/soap-rsa-sha1.xml"
expect_match "naming the algorithm" "$(cat "$W/last.err")" 'rsa-sha1'
check "and accepted when the profile allows it" xmldsig-probe verify --allow-sha1 --ca "$W/ca-x.pem" < "$W/soap-rsa-sha1.xml"
sed 's/hi  there/hi there/' "$W/soap-rsa-sha256.xml" > "$W/soap-tampered.xml"
check_exit 1 "xmlsec1 refuses a changed Body" xmlsec_verify_ws "$W/soap-tampered.xml"
check_exit 1 "gw_xmlverify refuses it" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/soap-tampered.xml"
check_exit 1 "an ECDSA algorithm with an RSA key is refused" probe_sign --key rsa --alg ecdsa-sha256 --ref B-1 < "$W/soap.xml"
check_exit 1 "a reference to a missing id is refused" probe_sign --key rsa --ref nope < "$W/soap.xml"

# --- Signatures made by xmlsec1 (file keys), as an authority would ---
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=authority signer" -keyout "$W/auth.key" -out "$W/auth.csr" 2>/dev/null
issue_cert x "$W/auth.csr" "$W/auth.pem"
# template PREFIXLIST URI: a SOAP 1.2 response template whose Body uses
# the prefix t only in content (xsi:type="t:..."): exclusive C14N renders
# xmlns:t only when the PrefixList names it.
template() {
    cat <<EOF
<soap:Envelope xmlns:soap="$S12" xmlns:wsu="$WSU" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:m="urn:m" xmlns:t="urn:t"><soap:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="$2"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">$1</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></wsse:Security></soap:Header><soap:Body wsu:Id="B-9"><m:Answer xsi:type="t:Greeting">ok</m:Answer></soap:Body></soap:Envelope>
EOF
}
template '<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="t"/>' '#B-9' \
    > "$W/resp-tmpl.xml"
check "xmlsec1 signs a response with a PrefixList" xmlsec1 --sign --privkey-pem "$W/auth.key,$W/auth.pem" \
    --id-attr:Id "$S12:Body" --output "$W/resp.xml" "$W/resp-tmpl.xml"
check "gw_xmlverify honours the PrefixList" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/resp.xml"
expect_eq "the Body is what it covers" "$(cat "$W/last.out")" Body
sed 's/PrefixList="t"/PrefixList=""/' "$W/resp.xml" > "$W/resp-prefix.xml"
check_exit 1 "a PrefixList changed after signing breaks it" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/resp-prefix.xml"
sed 's/>ok</>OK</' "$W/resp.xml" > "$W/resp-tampered.xml"
check_exit 1 "a changed response Body is refused" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/resp-tampered.xml"
template '' "#xpointer(id('B-9'))" > "$W/xptr-tmpl.xml"
check "xmlsec1 signs with an XPointer reference" xmlsec1 --sign --privkey-pem "$W/auth.key,$W/auth.pem" \
    --id-attr:Id "$S12:Body" --output "$W/xptr.xml" "$W/xptr-tmpl.xml"
check_exit 1 "gw_xmlverify takes only \"\" and #id references" xmldsig-probe verify --ca "$W/ca-x.pem" < "$W/xptr.xml"
expect_match "saying which" "$(cat "$W/last.err")" 'names nothing'
finish
