# SPDX-License-Identifier: Apache-2.0
# The Debian package as built by scripts/test --package: SG_DEB names the
# .deb (its .changes next to it); without it the test is skipped. lintian
# (no error, no warning), what the package holds and where (FHS, no bench
# tool), the maintainer scripts through shellcheck and run against stubs
# (user and directories made twice over; purge removes /etc/sealgate and
# never /var/lib/sealgate), then the package unpacked with dpkg -x into a
# throw-away root: its programs' --help and --version, the manual pages
# against --help, and its example configuration, with only the PIN file
# and the audit directory moved into that root, through sealgated
# --check-config on a fresh SoftHSMv2 token made with the packaged
# sealgate-token, then served and stopped, and the log it wrote verified
# by the packaged sealgate-audit.
if [ -z "${SG_DEB:-}" ]; then
    echo "SKIP: no SG_DEB (scripts/test --package builds the package and runs this)"
    exit 77
fi
root=$SG_WORK/root
mkdir -p "$root"
dpkg -x "$SG_DEB" "$root" || { echo "Bail out! dpkg -x $SG_DEB"; exit 1; }
# The packaged tools first, and the module the example configuration names.
export PATH="$root/usr/sbin:$root/usr/bin:$PATH"
SEALGATE_PKCS11_MODULE=$(jq -r .token.module "$root/etc/sealgate/sealgate.json")
export SEALGATE_PKCS11_MODULE
. "$SG_SRCDIR/tests/integration/lib.sh"
need_tools lintian shellcheck dpkg-deb man

version=$(dpkg-deb -f "$SG_DEB" Version)
changes=${SG_DEB%.deb}.changes

# --- lintian -----------------------------------------------------------------
check "lintian: no error and no warning" lintian --fail-on error,warning "$changes"
expect_eq "lintian tags at error or warning level" \
    "$(grep -cE '^[EW]: ' "$SG_WORK/last.out")" 0

# --- what the package holds --------------------------------------------------
files=$(dpkg-deb -c "$SG_DEB" | awk '{ print $NF }')
for f in ./usr/sbin/sealgated ./usr/bin/sealgate-token ./usr/bin/sealgate-audit \
    ./lib/systemd/system/sealgated.service ./etc/sealgate/sealgate.json \
    ./usr/share/man/man8/sealgated.8.gz ./usr/share/man/man1/sealgate-token.1.gz \
    ./usr/share/man/man1/sealgate-audit.1.gz ./usr/share/man/man5/sealgate.json.5.gz \
    ./usr/share/doc/sealgate/README.Debian ./usr/share/doc/sealgate/copyright; do
    expect_match "the package holds $f" "$files" "^${f//./\\.}\$"
done
expect_no_match "no bench tool in the package" "$files" 'sg-p11bench|sg_p11bench'
expect_no_match "nothing under /var/lib (postinst makes it, purge leaves it)" "$files" '^\./var/'
for prog in usr/sbin/sealgated usr/bin/sealgate-token usr/bin/sealgate-audit; do
    expect_match "$prog is executable" "$(dpkg-deb -c "$SG_DEB" | awk -v f="./$prog" '$NF == f { print $1 }')" '^-rwxr-xr-x$'
done
mkdir -p "$SG_WORK/control"
dpkg-deb -e "$SG_DEB" "$SG_WORK/control"
expect_eq "the example configuration is a conffile" "$(cat "$SG_WORK/control/conffiles")" /etc/sealgate/sealgate.json
depends=$(dpkg-deb -f "$SG_DEB" Depends)
expect_match "Depends: adduser (postinst)" "$depends" '(^|, )adduser(,|$)'
expect_match "Depends: the libraries it links (shlibs)" "$depends" 'libp11-3.*libssl3|libssl3.*libp11-3'
expect_match "Depends: libmicrohttpd (shlibs)" "$depends" 'libmicrohttpd12'
expect_match "Suggests: softhsm2, not Depends or Recommends" "$(dpkg-deb -f "$SG_DEB" Suggests)" softhsm2
expect_eq "no Recommends" "$(dpkg-deb -f "$SG_DEB" Recommends)" ""

# The unit as installed: the daemon's path, user and writable directory
# agree with the package's.
unit=$root/lib/systemd/system/sealgated.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
expect_match "the unit starts the packaged sealgated with the packaged configuration" \
    "$exec_start" '^/usr/sbin/sealgated --foreground --config /etc/sealgate/sealgate.json$'
expect_eq "the unit runs as the user postinst makes" "$(sed -n 's/^User=//p' "$unit")" sealgate
expect_eq "the unit may write where the audit log is" "$(sed -n 's/^ReadWritePaths=//p' "$unit")" /var/lib/sealgate
expect_match "the example's audit directory is under it" \
    "$(jq -r .audit.dir "$root/etc/sealgate/sealgate.json")" '^/var/lib/sealgate/'
expect_match "the unit names its manual page" "$(sed -n 's/^Documentation=//p' "$unit")" 'man:sealgated\(8\)'

# --- the maintainer scripts ----------------------------------------------------
for s in preinst postinst postrm; do
    [ -e "$SG_WORK/control/$s" ] || continue
    check "shellcheck $s (as packaged, with debhelper's parts)" shellcheck -s sh "$SG_WORK/control/$s"
done
# Run against stubs that record their arguments: every command a script
# may change the system with is one of them. Each stub logs "NAME ARGS";
# "[ -d /var/lib/sealgate ]" sees this machine, where the package is not
# installed.
stubs=$SG_WORK/stubs
mkdir -p "$stubs"
for c in addgroup adduser install chown chmod rm dpkg-statoverride deb-systemd-helper \
    deb-systemd-invoke systemctl; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n[ "%s" = dpkg-statoverride ] && exit 1\nexit 0\n' \
        "$c" "$SG_WORK" "$c" > "$stubs/$c"
    chmod +x "$stubs/$c"
done
run_script() { : > "$SG_WORK/calls"; PATH="$stubs:$PATH" sh "$SG_WORK/control/$1" "${@:2}"; }
if [ -d /var/lib/sealgate ] || getent passwd sealgate >/dev/null; then
    echo "# sealgate is installed on this machine: the stubbed postinst runs are left out"
else
    for n in 1 2; do
        check "postinst configure, run $n" run_script postinst configure
        calls=$(cat "$SG_WORK/calls")
        expect_match "postinst $n: a system group sealgate" "$calls" '^addgroup --system( --quiet)? sealgate$'
        expect_match "postinst $n: a system user sealgate in it, no login, home /var/lib/sealgate" "$calls" \
            '^adduser --system .*--ingroup sealgate --home /var/lib/sealgate .*--shell /usr/sbin/nologin .*sealgate$'
        expect_match "postinst $n: /var/lib/sealgate owned by sealgate, mode 0700" "$calls" \
            '^install -d -o sealgate -g sealgate -m 0700 /var/lib/sealgate$'
        expect_match "postinst $n: the audit directory owned by sealgate, mode 0700" "$calls" \
            '^install -d -o sealgate -g sealgate -m 0700 /var/lib/sealgate/audit$'
        expect_no_match "postinst $n: removes nothing" "$calls" '^rm '
    done
fi
check "postrm purge" run_script postrm purge
calls=$(cat "$SG_WORK/calls")
expect_match "purge removes /etc/sealgate" "$calls" '^rm -rf /etc/sealgate$'
expect_no_match "purge never touches /var/lib/sealgate" "$calls" '/var/lib/sealgate'
check "postrm remove" run_script postrm remove
expect_no_match "remove deletes nothing" "$(cat "$SG_WORK/calls")" '^rm '
check_exit 1 "postinst refuses an unknown action" run_script postinst bogus

# --- the programs, unpacked ----------------------------------------------------
# man_clean PAGE: man renders PAGE without a warning.
man_clean() { [ -z "$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null)" ]; }
for prog in sealgated sealgate-token sealgate-audit; do
    path=$(command -v "$prog")
    expect_match "$prog runs from the unpacked package" "$path" "^$root/usr/s?bin/$prog\$"
    check "$prog --help" "$prog" --help
    expect_match "$prog --help prints its usage" "$(head -n1 "$SG_WORK/last.out")" "^usage: $prog "
    help=$(cat "$SG_WORK/last.out")
    # The default configuration is compiled in (not from sysconfdir): it
    # must be the package's conffile.
    expect_match "$prog's default configuration is the packaged one" "$help" \
        "$(sed 's/\./\\./g' "$SG_WORK/control/conffiles")"
    check "$prog --version" "$prog" --version
    expect_eq "$prog --version is the package's" "$(cat "$SG_WORK/last.out")" "$prog $version"
    case $prog in sealgated) sec=8 ;; *) sec=1 ;; esac
    page=$root/usr/share/man/man$sec/$prog.$sec.gz
    check "man $prog.$sec renders without warnings" man_clean "$page"
    text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
    # Every option and command --help names is in the page.
    for word in $(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z-]*' | sort -u) \
        $(printf '%s\n' "$help" | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | grep -v '^-' | sort -u); do
        expect_match "man $prog.$sec names $word" "$text" "(^|[^a-z-])$word([^a-z-]|\$)"
    done
done
check "man sealgate.json.5 renders without warnings" man_clean "$root/usr/share/man/man5/sealgate.json.5.gz"
json5=$(MANWIDTH=200 man -l "$root/usr/share/man/man5/sealgate.json.5.gz" 2>/dev/null)
# Every member of the loader's schema (the key lists of common/sg_config.c
# and, per authority type, common/sg_config_authority.c) has its entry.
for key in $(sed -n '/^static const char \*const [a-z]*_keys\[\] = {/,/};/p' "$SG_SRCDIR/common/sg_config.c" \
    "$SG_SRCDIR/common/sg_config_authority.c" |
    grep -oE '"[a-z_]+"' | tr -d '"' | sort -u); do
    expect_match "sealgate.json(5) describes $key" "$json5" "(^|[^a-z_])$key([^a-z_]|\$)"
done

# --- the example configuration on a real token --------------------------------
example=$root/etc/sealgate/sealgate.json
check "the example configuration is JSON" jq -e . "$example"
mkdir -p "$SG_WORK/etc"
jq --arg pin "$SG_WORK/pin" --arg audit "$root/var/lib/sealgate/audit" \
    '.token.pin_file = $pin | .audit.dir = $audit' "$example" > "$SG_WORK/etc/sealgate.json"
expect_eq "only the PIN file and the audit directory were moved" \
    "$(jq -S -c 'del(.token.pin_file, .audit.dir)' "$SG_WORK/etc/sealgate.json")" \
    "$(jq -S -c 'del(.token.pin_file, .audit.dir)' "$example")"
label=$(jq -r .token.label "$example")
make_token "$label"
check_exit 1 "--check-config fails while the token lacks the example's keys" \
    sealgated --check-config --config "$SG_WORK/etc/sealgate.json"
expect_one_line_error "--check-config without the keys"
# The keys the example names, made with the packaged officer tool.
for id in $(jq -r '.identities[].key_label' "$example"); do
    check "sealgate-token keygen $id" sealgate-token keygen --label "$id" --type ec:p256 --pin-file "$SG_WORK/pin"
done
check "the example configuration passes sealgated --check-config" \
    sealgated --check-config --config "$SG_WORK/etc/sealgate.json"
out=$(cat "$SG_WORK/last.out")
expect_match "--check-config logged in to the example's token" "$out" "^token \"$label\": logged in"
for id in $(jq -r '.identities[].name' "$example"); do
    expect_match "--check-config found identity $id" "$out" "^identity $id: key "
done

# Served from the unpacked root (on a free port), stopped, and its log
# checked by the packaged auditor's tool and by lib.sh's own recomputation.
# The audit directory as postinst makes it.
install -d -m 0700 "$root/var/lib/sealgate" "$root/var/lib/sealgate/audit"
jq '.listen.port = 0' "$SG_WORK/etc/sealgate.json" > "$SG_WORK/etc/serve.json"
start_gateway "$SG_WORK/etc/serve.json"
expect_eq "the packaged sealgated answers /healthz" \
    "$(curl -sS --max-time 30 "$GW_URL/healthz" | jq -r .status)" ok
stop_gateway
check "the packaged sealgate-audit verifies the chain it wrote" \
    sealgate-audit verify --accept-unsealed --config "$SG_WORK/etc/serve.json"
expect_match "sealgate-audit: the chain is intact" "$(cat "$SG_WORK/last.out")" 'ok|OK|NOT SEALED \(accepted\)'
expect_match "the audit log is where the configuration says" \
    "$(audit_verify "$root/var/lib/sealgate/audit" 2>&1)" '^[0-9]+$'
finish
