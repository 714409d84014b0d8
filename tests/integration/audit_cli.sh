# SPDX-License-Identifier: Apache-2.0
# sealgate-audit on a real sealgated log (requests through /v1/sign, signed
# checkpoints, rotation): verify passes on the log as written and fails,
# naming the right seq and reason, on each kind of tampered copy; show
# filters; counts match the requests made; the README's one-line hash
# recipe agrees with the file; bad usage exits 2, a failed operation 1.
. "$SG_SRCDIR/tests/integration/lib.sh"
W=$SG_WORK
gateway_fixture
jq '.audit.checkpoint_every_entries = 10 | .audit.checkpoint_every_seconds = 3600 | .audit.rotate_bytes = 4096' \
    "$W/sealgate.json" > "$W/c.json" && mv "$W/c.json" "$W/sealgate.json"
J=(-H 'Content-Type: application/json')
echo "document" > "$W/doc"

# Tampering as a forger with shell tools would do it: edit the bytes, and
# where the forgery should look consistent, recompute hashes and prevs by
# the documented rule (but without the audit key).
cat > "$W/tamper.py" <<'PY'
import glob, hashlib, json, re, sys
action, d, args = sys.argv[1], sys.argv[2], sys.argv[3:]
files = sorted(glob.glob(d + "/audit-*.jsonl"))
data = {p: open(p, "rb").read() for p in files}
lines = {p: data[p].split(b"\n")[:-1] for p in files}
def save(p):
    open(p, "wb").write(b"".join(l + b"\n" for l in lines[p]))
def hash_of(line):
    return re.search(rb',"hash":"([0-9a-f]{64})"\}$', line).group(1)
def rehash(line, prev=None):
    if prev is not None:
        m = re.search(rb',"prev":"([0-9a-f]{64})","hash"', line)
        line = line[:m.start(1)] + prev + line[m.end(1):]
    m = re.search(rb',"hash":"[0-9a-f]{64}"\}$', line)
    h = hashlib.sha256(line[:m.start()] + b"}").hexdigest().encode()
    return line[:m.start()] + b',"hash":"' + h + b'"}'
def find(seq):
    for p in files:
        for i, l in enumerate(lines[p]):
            if json.loads(l)["seq"] == seq:
                return p, i
    sys.exit("no seq %d" % seq)
def mallory(line):
    assert b'"client":"billing"' in line
    return line.replace(b'"client":"billing"', b'"client":"mallory"', 1)
if action == "pick":
    # A billing entry in the first file with a line before it and two after.
    p = files[0]
    for i in range(1, len(lines[p]) - 2):
        if json.loads(lines[p][i]).get("client") == "billing":
            print(json.loads(lines[p][i])["seq"]); break
elif action == "where":
    p, i = find(int(args[0])); print("%s line %d" % (p.rsplit("/", 1)[1], i + 1))
elif action == "edit":
    p, i = find(int(args[0])); lines[p][i] = mallory(lines[p][i]); save(p)
elif action == "delete":
    p, i = find(int(args[0])); del lines[p][i]; save(p)
elif action == "swap":
    p, i = find(int(args[0]))
    lines[p][i], lines[p][i + 1] = lines[p][i + 1], lines[p][i]; save(p)
elif action == "truncate":
    p = files[-1]; open(p, "wb").write(data[p][:-25])
elif action == "forge":
    # The next seq, chained to the entry before the last one: a fork.
    every = [l for q in files for l in lines[q]]
    p = files[-1]; last = every[-1]; e = json.loads(last)
    forged = last.replace(b'{"seq":%d,' % e["seq"], b'{"seq":%d,' % (e["seq"] + 1), 1)
    lines[p].append(rehash(forged, hash_of(every[-2]))); save(p)
elif action == "rewrite":
    p, i = find(int(args[0])); lines[p][i] = rehash(mallory(lines[p][i]))
    prev, started = None, False
    for q in files:
        for j, l in enumerate(lines[q]):
            if started:
                lines[q][j] = rehash(l, prev)
            started = started or (q == p and j == i)
            prev = hash_of(lines[q][j])
        save(q)
elif action == "torn":
    open(files[-1], "ab").write(b'{"seq":999,"time":"2026-11-20T21:4')
PY
tamper() { python3 "$W/tamper.py" "$@"; }
# copy NAME: a fresh copy of the log to tamper with.
copy() { rm -rf "$W/$1"; cp -r "$W/audit" "$W/$1"; echo "$W/$1"; }

start_gateway
for i in $(seq 1 12); do
    api billing POST /v1/sign "${J[@]}" -H "X-Request-Id: ls-$i" \
        --data "$(sign_body local-seal sha256 "$W/doc" raw)" >> "$W/status"
    echo >> "$W/status"
done
# Checkpoints by count are looked for once a second: wait (bounded) for one.
wait_until 30 "a checkpoint by count" at_least 1 audit_entries checkpoint
for i in $(seq 1 8); do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body ec-seal sha256 "$W/doc" raw)" >> "$W/status"
    echo >> "$W/status"
done
for i in 1 2; do
    api billing POST /v1/sign "${J[@]}" --data "$(sign_body bare sha256 "$W/doc" cms)" >> "$W/status"
    echo >> "$W/status"
done
for i in 1 2 3; do
    api other POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" >> "$W/status"
    echo >> "$W/status"
done
for i in 1 2; do
    api - POST /v1/sign "${J[@]}" --data "$(sign_body local-seal sha256 "$W/doc" raw)" >> "$W/status"
    echo >> "$W/status"
done
expect_eq "requests answered as expected" "$(sort "$W/status" | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')" \
    "200x20 401x2 403x3 409x2 "
stop_gateway

A=$W/audit
total=$(cat "$A"/audit-*.jsonl | wc -l)
ncp=$(jq -s '[.[] | select(.type=="checkpoint")] | length' "$A"/audit-*.jsonl)
nfiles=$(ls "$A"/audit-*.jsonl | wc -l)
[ "$nfiles" -ge 4 ] || { echo "Bail out! only $nfiles log files; rotation expected"; exit 1; }
[ "$ncp" -ge 2 ] || fail "the daemon wrote $ncp checkpoints (every 10 entries and at shutdown)"

# --- verify on the log as the daemon wrote it ------------------------------
check_exit 0 "verify with the audit certificate" sealgate-audit verify --cert "$W/audit-signer.pem" "$A"
expect_eq "verify --cert reports entries and checkpoints" "$(head -n1 "$W/last.out")" \
    "OK: $total entries, $ncp checkpoints, chain intact, sealed"
expect_eq "the log ends sealed by the shutdown checkpoint" "$(sed -n 2p "$W/last.out")" \
    "seal: sealed to the end by the checkpoint at seq $total"
# Without the certificate nothing is known to be sealed: an intact chain
# alone does not pass, unless the auditor says so.
check_exit 1 "verify without --cert" sealgate-audit verify "$A"
expect_match "says why" "$(head -n1 "$W/last.out")" '^FAILED: not sealed: checkpoint signatures not checked'
check_exit 0 "verify without --cert, --accept-unsealed" sealgate-audit verify --accept-unsealed "$A"
expect_eq "reports the chain" "$(head -n1 "$W/last.out")" "OK: $total entries, $ncp checkpoints, chain intact"
expect_match "and that it accepted no seal" "$(sed -n 2p "$W/last.out")" '^NOT SEALED \(accepted\): '
check_exit 0 "verify the files named one by one" sealgate-audit verify --cert "$W/audit-signer.pem" "$A"/audit-*.jsonl
expect_eq "same count from the file list" "$(head -n1 "$W/last.out")" \
    "OK: $total entries, $ncp checkpoints, chain intact, sealed"
check_exit 0 "verify the config's audit directory (--config)" \
    sealgate-audit --config "$W/sealgate.json" verify --cert "$W/audit-signer.pem"
expect_eq "config's directory is the daemon's log" "$(head -n1 "$W/last.out")" \
    "OK: $total entries, $ncp checkpoints, chain intact, sealed"
SEALGATE_CONFIG="$W/sealgate.json" check_exit 0 "verify the config's audit directory (SEALGATE_CONFIG)" \
    sealgate-audit verify --cert "$W/audit-signer.pem"
check_exit 0 "verify --json" sealgate-audit verify --json --cert "$W/audit-signer.pem" "$A"
expect_eq "verify --json is the API's object" "$(jq -c . "$W/last.out")" \
    "{\"ok\":true,\"entries\":$total,\"checkpoints\":$ncp,\"first_bad_seq\":null,\"detail\":\"chain intact\",\"sealed\":true,\"sealed_seq\":$((total - 1)),\"sealed_by\":$total,\"unsealed_entries\":0,\"seal_detail\":\"sealed to the end by the checkpoint at seq $total\"}"
check_exit 2 "--max-unsealed-age takes seconds" sealgate-audit verify --max-unsealed-age soon "$A"


first_cp=$(jq -s '[.[] | select(.type=="checkpoint") | .seq] | first' "$A"/audit-*.jsonl)
check_exit 1 "another EC key does not verify the checkpoints" sealgate-audit verify --cert "$W/ec-seal.pem" "$A"
expect_match "named at the first checkpoint" "$(cat "$W/last.out")" \
    "^FAILED at seq $first_cp: checkpoint signature invalid \\(audit-0000[0-9]{2}\\.jsonl line [0-9]+\\)$"
check_exit 1 "an RSA certificate does not fit ECDSA checkpoints" sealgate-audit verify --cert "$W/local-seal.pem" "$A"
expect_match "named as an algorithm mismatch" "$(cat "$W/last.out")" \
    "^FAILED at seq $first_cp: checkpoint algorithm does not match the key"

# The README's recipe for one entry, with standard tools.
L5=$(sed -n 5p "$A/audit-000001.jsonl")
expect_eq "README recipe: recomputed hash equals the logged one" \
    "$(sed -n 5p "$A/audit-000001.jsonl" | sed -E 's/,"hash":"[0-9a-f]{64}"\}$/}/' | tr -d '\n' | sha256sum | cut -d' ' -f1)" \
    "$(printf '%s' "$L5" | jq -r .hash)"
expect_eq "README recipe: the next entry points at it" \
    "$(sed -n 6p "$A/audit-000001.jsonl" | jq -r .prev)" "$(printf '%s' "$L5" | jq -r .hash)"

# --- verify on tampered copies ---------------------------------------------
P=$(tamper pick "$A")
[ -n "$P" ] || { echo "Bail out! no billing entry in the first file"; exit 1; }
last=$(tail -qn1 "$(ls "$A"/audit-*.jsonl | tail -n1)" | jq .seq)
expect_eq "last seq is the number of entries" "$last" "$total"

# verify_fails DESCRIPTION DIR REGEX [verify options]
verify_fails() {
    local what=$1 dir=$2 want=$3
    shift 3
    check_exit 1 "$what: exit 1" sealgate-audit verify "$@" "$dir"
    expect_match "$what: reported" "$(cat "$W/last.out")" "$want"
    [ -s "$W/last.err" ] && fail "$what: verify wrote to stderr: $(head -c 200 "$W/last.err")"
}

d=$(copy t-edit); where=$(tamper where "$d" "$P"); tamper edit "$d" "$P"
verify_fails "edited field" "$d" "^FAILED at seq $P: hash mismatch \\($where\\)$"
d=$(copy t-delete); where=$(tamper where "$d" "$P"); tamper delete "$d" "$P"
verify_fails "deleted line" "$d" "^FAILED at seq $((P + 1)): seq gap \\($where\\)$"
d=$(copy t-swap); where=$(tamper where "$d" "$P"); tamper swap "$d" "$P"
verify_fails "swapped lines" "$d" "^FAILED at seq $((P + 1)): reordered \\($where\\)$"
d=$(copy t-trunc); tamper truncate "$d"
verify_fails "truncated tail" "$d" "^FAILED at seq $total: truncated tail \\($(tamper where "$A" "$total")\\)$"
d=$(copy t-forge); tamper forge "$d"
verify_fails "appended forged line" "$d" \
    "^FAILED at seq $((total + 1)): prev does not match the previous entry \\(audit-0000[0-9]{2}\\.jsonl line [0-9]+\\)$"

d=$(copy t-rewrite); tamper rewrite "$d" "$P"
cp_after=$(jq -s --argjson p "$P" '[.[] | select(.type=="checkpoint" and .seq > $p) | .seq] | first' "$d"/audit-*.jsonl)
check_exit 0 "chain rewritten without the key: hashes alone cannot tell" \
    sealgate-audit verify --accept-unsealed "$d"
check "... nor can the documented recomputation" audit_verify "$d"
verify_fails "chain rewritten without the key" "$d" \
    "^FAILED at seq $cp_after: checkpoint signature invalid \\($(tamper where "$d" "$cp_after")\\)$" \
    --cert "$W/audit-signer.pem"
check_exit 1 "rewritten chain: --json says so" sealgate-audit verify --json --cert "$W/audit-signer.pem" "$d"
expect_eq "rewritten chain: --json names the seq" "$(jq -c '[.ok, .first_bad_seq, .detail]' "$W/last.out")" \
    "[false,$cp_after,\"checkpoint signature invalid\"]"

# rechain DIR [drop-checkpoints] [append-old]: rewrite DIR's log into one
# file with every hash and prev recomputed (what anyone can do without the
# audit key): without its checkpoints, and/or with one entry appended after
# the end, dated two hours ago.
rechain() {
    python3 - "$@" <<'PY'
import glob, hashlib, json, os, sys
d, opts = sys.argv[1], sys.argv[2:]
files = sorted(glob.glob(d + "/audit-*.jsonl"))
lines = [l for f in files for l in open(f, "rb").read().splitlines()]
for f in files:
    os.unlink(f)
entries = [json.loads(l) for l in lines]
if "drop-checkpoints" in opts:
    entries = [e for e in entries if e["type"] != "checkpoint"]
if "append-old" in opts:
    extra = dict(entries[-1])
    import datetime
    then = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    extra.update(type="config_load", time=then.strftime("%Y-%m-%dT%H:%M:%S.000Z"), outcome="ok")
    entries.append(extra)
prev = "0" * 64
with open(d + "/audit-000001.jsonl", "wb") as out:
    for seq, e in enumerate(entries, 1):
        e = {k: (seq if k == "seq" else prev if k == "prev" else v) for k, v in e.items() if k != "hash"}
        body = json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode()
        prev = hashlib.sha256(body).hexdigest()
        out.write(body[:-1] + b',"hash":"' + prev.encode() + b'"}\n')
PY
}
# Checkpoints cut out: intact, and not sealed.
d=$(copy t-uncheckpointed); rechain "$d" drop-checkpoints
check "the re-chained copy passes the documented recomputation" audit_verify "$d"
verify_fails "a log without checkpoints" "$d" '^FAILED: not sealed: no checkpoint signed by the audit key' \
    --cert "$W/audit-signer.pem"
check_exit 0 "... which --accept-unsealed lets through, saying so" \
    sealgate-audit verify --cert "$W/audit-signer.pem" --accept-unsealed "$d"
expect_match "  NOT SEALED" "$(sed -n 2p "$W/last.out")" '^NOT SEALED \(accepted\): no checkpoint'
check_exit 1 "  and --json says ok:false without it" sealgate-audit verify --json --cert "$W/audit-signer.pem" "$d"
expect_eq "  with how far the seal reaches" "$(jq -c '[.ok, .sealed, .sealed_seq, .detail]' "$W/last.out")" \
    '[false,false,null,"chain intact"]'
# An entry after the last checkpoint that has waited far longer than the
# checkpoint interval: something stopped sealing, or the seal was cut off.
d=$(copy t-old-tail); rechain "$d" append-old
verify_fails "an unsealed tail older than the interval" "$d" \
    "^FAILED: not sealed: the 1 entries after the checkpoint at seq $total have waited [0-9]+ s for a seal \\(at most 65 s allowed\\)" \
    --cert "$W/audit-signer.pem"
check_exit 0 "  a generous --max-unsealed-age lets it through" \
    sealgate-audit verify --cert "$W/audit-signer.pem" --max-unsealed-age 86400 "$d"
expect_match "  saying how far the seal reaches" "$(sed -n 2p "$W/last.out")" \
    "^seal: sealed up to seq $((total - 1)) by the checkpoint at seq $total; the 1 entries after it"

first3=$(head -n1 "$A/audit-000003.jsonl" | jq .seq)
d=$(copy t-missing); rm "$d/audit-000002.jsonl"
verify_fails "missing middle file" "$d" "^FAILED at seq $first3: missing file \\(audit-000003\\.jsonl line 1\\)$"
d=$(copy t-gap); rm "$d/audit-000002.jsonl"
for ((i = 3; i <= nfiles; i++)); do
    mv "$d/$(printf 'audit-%06d.jsonl' "$i")" "$d/$(printf 'audit-%06d.jsonl' $((i - 1)))"
done
verify_fails "files renumbered over a removed one" "$d" \
    "^FAILED at seq $first3: gap between files \\(audit-000002\\.jsonl line 1\\)$"
d=$(copy t-first); rm "$d/audit-000001.jsonl"
verify_fails "first file missing" "$d" "^FAILED at seq $(head -n1 "$A/audit-000002.jsonl" | jq .seq): missing file"
d=$(copy t-garbage); printf 'not an entry\n' >> "$d/$(ls "$d" | grep -E '^audit-[0-9]{6}\.jsonl$' | tail -n1)"
verify_fails "a line that is not an entry" "$d" "^FAILED: not an audit entry \\(audit-0000[0-9]{2}\\.jsonl line [0-9]+\\)$"

# --- show ------------------------------------------------------------------
check "show everything" sealgate-audit show "$A"
expect_eq "show prints the lines as logged" "$(sha256sum < "$W/last.out")" "$(cat "$A"/audit-*.jsonl | sha256sum)"
count_show() { sealgate-audit show "$@" "$A" | jq -s length; }
expect_eq "show --client other: the refused client's entries" "$(count_show --client other)" \
    "$(jq -s '[.[] | select(.client=="other")] | length' "$A"/audit-*.jsonl)"
expect_eq "show --client other: 3 refusals" "$(count_show --client other --type auth_failure)" 3
expect_eq "show --type sign --outcome ok: one per signature made" "$(count_show --type sign --outcome ok)" 20
expect_eq "show --identity ec-seal --type sign --outcome ok" \
    "$(count_show --identity ec-seal --type sign --outcome ok)" 8
expect_eq "show --outcome error" "$(count_show --outcome error)" \
    "$(jq -s '[.[] | select(.outcome=="error")] | length' "$A"/audit-*.jsonl)"
expect_eq "show --type sign --outcome error: the CMS refusals" "$(count_show --type sign --outcome error)" 2
expect_eq "show --type checkpoint" "$(count_show --type checkpoint)" "$ncp"
expect_match "every shown entry is the asked client's" \
    "$(sealgate-audit show --client billing "$A" | jq -r .client | sort -u | tr '\n' ' ')" '^billing $'
t1=$(jq -rs '.[6].time' "$A"/audit-*.jsonl)
t2=$(jq -rs '.[20].time' "$A"/audit-*.jsonl)
expect_eq "show --from/--to: time window, from inclusive, to exclusive" \
    "$(count_show --from "$t1" --to "$t2")" \
    "$(jq -s --arg a "$t1" --arg b "$t2" '[.[] | select(.time >= $a and .time < $b)] | length' "$A"/audit-*.jsonl)"
expect_eq "show --from: first entry shown is at or after it" \
    "$(sealgate-audit show --from "$t1" "$A" | head -n1 | jq -r .time)" "$t1"
check "show --to in the past" sealgate-audit show --to 2000-01-01 "$A"
expect_eq "nothing before 2000" "$(wc -c < "$W/last.out")" 0
expect_eq "show --from in the future: nothing" "$(sealgate-audit show --from 2999-01-01T00:00:00Z "$A" | wc -c)" 0
expect_eq "show --after-seq" "$(sealgate-audit show --after-seq $((total - 3)) "$A" | jq -s -c 'map(.seq)')" \
    "[$((total - 2)),$((total - 1)),$total]"

# --- counts ----------------------------------------------------------------
month=$(date -u +%Y-%m)
check "counts --json" sealgate-audit counts --month "$month" --json "$A"
expect_eq "counts: month" "$(jq -r .month "$W/last.out")" "$month"
expect_eq "counts: rows sorted by identity, then client" \
    "$(jq -c '[.counts[] | [.identity, .client, .stamps, .signatures, .soap]]' "$W/last.out")" \
    '[["ec-seal","billing",0,8,0],["local-seal","billing",0,12,0]]'
check "counts table" sealgate-audit counts --month "$month" "$A"
expect_match "table row for local-seal" "$(cat "$W/last.out")" 'local-seal +billing +0 +12 +0'
expect_match "table total" "$(cat "$W/last.out")" 'total +0 +20 +0'
expect_eq "counts --by client" \
    "$(sealgate-audit counts --month "$month" --by client --json "$A" | jq -c '.counts')" \
    '[{"client":"billing","stamps":0,"signatures":20,"soap":0,"timestamps":0}]'
expect_eq "counts --by identity" \
    "$(sealgate-audit counts --month "$month" --by identity --json "$A" | jq -c '[.counts[] | [.identity, .signatures]]')" \
    '[["ec-seal",8],["local-seal",12]]'
expect_eq "counts for another month: none" \
    "$(sealgate-audit counts --month 2001-01 --json "$A" | jq -c .counts)" '[]'

# --- errors and usage --------------------------------------------------------
check_exit 1 "missing directory" sealgate-audit verify "$W/no-such-dir"
expect_one_line_error "missing directory"
expect_match "missing directory named" "$(cat "$W/last.err")" "^sealgate-audit: $W/no-such-dir: "
mkdir -p "$W/empty"
check_exit 1 "directory without log files" sealgate-audit verify "$W/empty"
expect_one_line_error "directory without log files"
check_exit 1 "show on a missing directory" sealgate-audit show "$W/no-such-dir"
expect_one_line_error "show on a missing directory"
check_exit 1 "--cert that is not a certificate" sealgate-audit verify --cert "$W/doc" "$A"
expect_one_line_error "--cert that is not a certificate"
SEALGATE_CONFIG="$W/none.json" check_exit 1 "no LOG and no configuration" sealgate-audit verify
expect_one_line_error "no LOG and no configuration"
check_exit 2 "no command" sealgate-audit
expect_one_line_error "no command"
check_exit 2 "unknown command" sealgate-audit rewrite "$A"
expect_one_line_error "unknown command"
check_exit 2 "unknown option" sealgate-audit verify --frobnicate "$A"
expect_one_line_error "unknown option"
check_exit 2 "option without its value" sealgate-audit verify "$A" --cert
expect_one_line_error "option without its value"
check_exit 2 "counts without --month" sealgate-audit counts "$A"
expect_one_line_error "counts without --month"
check_exit 2 "counts --month 2026-13" sealgate-audit counts --month 2026-13 "$A"
check_exit 2 "counts --by nothing" sealgate-audit counts --month "$month" --by nothing "$A"
check_exit 2 "show --from not a time" sealgate-audit show --from yesterday "$A"
expect_one_line_error "show --from not a time"
check_exit 2 "show --outcome maybe" sealgate-audit show --outcome maybe "$A"
check_exit 2 "an option of another command" sealgate-audit show --cert "$W/audit-signer.pem" "$A"
expect_one_line_error "an option of another command"
check_exit 2 "a directory mixed with files" sealgate-audit verify "$A" "$A/audit-000001.jsonl"
check_exit 0 "--help" sealgate-audit --help
expect_eq "--help lists the commands" "$(grep -oE '^  (verify|show|counts) ' "$W/last.out" | tr -d ' ' | tr '\n' ' ')" \
    "verify show counts "
check_exit 0 "--version" sealgate-audit --version
expect_match "--version" "$(cat "$W/last.out")" '^sealgate-audit [0-9]'

# --- a crash's torn line: set aside at the next start, then reported ---------
tamper torn "$A"
check_exit 1 "a torn last line fails verify before the restart" sealgate-audit verify "$A"
expect_match "named as a truncated tail" "$(cat "$W/last.out")" "^FAILED at seq $((total + 1)): truncated tail"
start_gateway
stop_gateway
check_exit 0 "after the restart the chain verifies" sealgate-audit verify --cert "$W/audit-signer.pem" "$A"
expect_match "and the side file is reported" "$(cat "$W/last.out")" \
    'note: torn line set aside in audit-[0-9]{6}\.jsonl\.torn-[0-9]+-[0-9]+'
finish
