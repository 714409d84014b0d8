# SPDX-License-Identifier: Apache-2.0
# Helpers for integration tests, sourced by each tests/integration/*.sh.
# Each check prints one line; the script exits non-zero at the end if any
# check failed, so one run reports every broken expectation.
set -u
SG_FAILS=0
SG_PASSES=0
MODULE=${SEALGATE_PKCS11_MODULE:-$(sed -n 's/^#define SG_DEFAULT_MODULE "\(.*\)"$/\1/p' "$SG_BUILDDIR/config.h")}
export SEALGATE_PKCS11_MODULE="$MODULE"

pass() { SG_PASSES=$((SG_PASSES + 1)); echo "ok - $*"; }
fail() { SG_FAILS=$((SG_FAILS + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
    local what=$1
    shift
    if "$@" >"$SG_WORK/last.out" 2>"$SG_WORK/last.err"; then
        pass "$what"
    else
        fail "$what (exit $?): $(head -c 400 "$SG_WORK/last.err")"
    fi
}

# check_exit CODE DESCRIPTION COMMAND...: the command must exit with CODE.
check_exit() {
    local want=$1 what=$2 rc
    shift 2
    "$@" >"$SG_WORK/last.out" 2>"$SG_WORK/last.err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        pass "$what"
    else
        fail "$what (exit $rc, wanted $want): $(head -c 400 "$SG_WORK/last.err")"
    fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
    if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', wanted '$3'"; fi
}

# expect_match DESCRIPTION TEXT REGEX
expect_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1: '$(printf '%s' "$2" | head -c 300)' does not match /$3/"; fi
}

expect_no_match() {
    if printf '%s' "$2" | grep -Eq -- "$3"; then fail "$1: '$(printf '%s' "$2" | head -c 300)' matches /$3/"; else pass "$1"; fi
}

# The last command's stderr is exactly one line.
expect_one_line_error() {
    local n
    n=$(wc -l < "$SG_WORK/last.err")
    if [ "$n" -eq 1 ] && grep -q '^sealgate-[a-z]*: ' "$SG_WORK/last.err"; then
        pass "$1: one-line error"
    else
        fail "$1: stderr has $n lines: $(head -c 400 "$SG_WORK/last.err")"
    fi
}

# A token labelled $1 (default "sealgate") with user PIN file $SG_WORK/pin
# and SO PIN file $SG_WORK/so-pin.
make_token() {
    local label=${1:-sealgate}
    (umask 077; printf '%s\n' "${TEST_PIN:-246810}" > "$SG_WORK/pin"; printf '%s\n' "${TEST_SO_PIN:-13579111}" > "$SG_WORK/so-pin")
    sealgate-token init --label "$label" --pin-file "$SG_WORK/pin" --so-pin-file "$SG_WORK/so-pin" >/dev/null ||
        { echo "Bail out! cannot initialise token $label"; exit 1; }
    export SEALGATE_TOKEN_LABEL="$label"
}

# A throwaway CA under $SG_WORK/ca-$1 (key and certificate) for issuing test certificates.
make_ca() {
    local name=$1
    openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=sealgate test CA $name" \
        -keyout "$SG_WORK/ca-$name.key" -out "$SG_WORK/ca-$name.pem" 2>/dev/null
}

# issue_cert CA CSR OUT [DAYS]: sign a CSR with the test CA.
issue_cert() {
    openssl x509 -req -in "$2" -CA "$SG_WORK/ca-$1.pem" -CAkey "$SG_WORK/ca-$1.key" -CAcreateserial \
        -sha256 -days "${4:-30}" -out "$3" 2>/dev/null
}

finish() {
    echo "$SG_PASSES passed, $SG_FAILS failed"
    [ "$SG_FAILS" -eq 0 ]
    exit $?
}
