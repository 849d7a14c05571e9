#!/usr/bin/env bash
# Applies images/ansible's stampkit_app role for real to a throwaway Debian
# bookworm tree, then boots that tree under systemd (systemd-nspawn, private
# network) to see the hardened unit serve and drain. Root only; it touches
# nothing outside its temporary directory.
#
#   images/chroot-check.sh            # base tree: $STAMPKIT_CHROOT_BASE or made with debootstrap
#
# What it cannot prove: the target is Debian, not Amazon Linux 2023, so the
# dnf packages (amazon-cloudwatch-agent, logrotate) are not installed, the
# agent's fetch-config is not run, and sshd is not reloaded. Everything else
# in the role runs: user, directories, binary, env file, unit, logrotate,
# agent config file, sshd drop-in and main config, effective-sshd check.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "chroot-check.sh: must run as root (chroot, nspawn)" >&2; exit 1; }
for tool in debootstrap ansible-playbook systemd-analyze go; do
  command -v "$tool" >/dev/null || { echo "chroot-check.sh: $tool is missing" >&2; exit 1; }
done

base=${STAMPKIT_CHROOT_BASE:-/var/tmp/stampkit-chroot-base}
if [ ! -x "$base/usr/sbin/sshd" ]; then
  echo "== debootstrap bookworm into $base (a few minutes, once)"
  rm -rf "$base"
  debootstrap --variant=minbase --include=openssh-server,logrotate,systemd,python3 bookworm "$base" \
    http://deb.debian.org/debian >/dev/null
fi

work=$(mktemp -d /var/tmp/stampkit-chroot-check.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
root=$work/root
cp -a "$base" "$root"
# sshd -t/-T need its privilege-separation directory; the agent's config
# directory comes with its (Amazon Linux only) package.
mkdir -p "$root/run/sshd" "$root/opt/aws/amazon-cloudwatch-agent/etc"

echo "== build the app for this machine"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=chroot-check" -o "$work/stampkit-app" ./images/app

vars=$(printf '{"stampkit_app_packages": [], "stampkit_app_live": false, "stampkit_app_binary": "%s"}' "$work/stampkit-app")
play() {
  (cd images/ansible && ansible-playbook -i "$root," -c community.general.chroot playbook.yml -e "$vars" "$@")
}
recap() { grep -A1 '^PLAY RECAP' "$1" | tail -1; }

echo "== apply the role"
play >"$work/run1.log" 2>&1 || { cat "$work/run1.log"; exit 1; }
recap "$work/run1.log"
echo "== apply it again: nothing may change"
play >"$work/run2.log" 2>&1 || { cat "$work/run2.log"; exit 1; }
recap "$work/run2.log"
grep -q 'changed=0 ' <(recap "$work/run2.log") || { echo "second run changed something:"; cat "$work/run2.log"; exit 1; }
echo "== check mode: nothing would change"
play --check >"$work/run3.log" 2>&1 || { cat "$work/run3.log"; exit 1; }
grep -q 'changed=0 ' <(recap "$work/run3.log") || { echo "check mode reports changes:"; cat "$work/run3.log"; exit 1; }

echo "== inspect the result"
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(chroot "$root" getent passwd stampkit | cut -d: -f7)" = /sbin/nologin ] || fail "stampkit user has a login shell"
# stat inside the tree: its users and groups are not the host's.
perms() { chroot "$root" stat -c '%a %U %G' "$1"; }
[ "$(perms /etc/stampkit/app.env)" = "640 root stampkit" ] || fail "app.env permissions: $(perms /etc/stampkit/app.env)"
[ "$(perms /etc/stampkit)" = "750 root stampkit" ] || fail "/etc/stampkit permissions: $(perms /etc/stampkit)"
[ "$(perms /var/log/stampkit)" = "750 stampkit stampkit" ] || fail "log directory permissions: $(perms /var/log/stampkit)"
[ "$(perms /usr/local/bin/stampkit-app)" = "755 root root" ] || fail "binary permissions: $(perms /usr/local/bin/stampkit-app)"
[ "$(perms /etc/ssh/sshd_config.d/00-stampkit.conf)" = "600 root root" ] || fail "sshd drop-in permissions"
chroot "$root" /usr/sbin/sshd -T | grep -qx 'passwordauthentication no' || fail "sshd accepts passwords"
python3 -m json.tool "$root/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json" >/dev/null || fail "agent config is not JSON"
chroot "$root" logrotate -d /etc/logrotate.d/stampkit-app >/dev/null 2>&1 || fail "logrotate rejects its config"
# verify exits 0 on unknown keys and bad values: any output is a finding.
out=$(systemd-analyze verify --root="$root" stampkit-app.service 2>&1) && [ -z "$out" ] ||
  fail "systemd-analyze verify: $out"
exposure=$(systemd-analyze security --offline=true --root="$root" stampkit-app.service | sed -n "s/.*Overall exposure level for stampkit-app.service: \([0-9.]*\).*/\1/p")
echo "unit exposure $exposure"
awk -v e="$exposure" "BEGIN { exit !(e != \"\" && e <= 2.0) }" ||
  fail "unit exposure above 2.0"
chroot "$root" systemctl is-enabled stampkit-app.service | grep -qx enabled || fail "unit not enabled"

if ! command -v systemd-nspawn >/dev/null; then
  echo "== systemd-nspawn missing (apt-get install systemd-container): boot test skipped"
  exit 0
fi
echo "== boot the tree under systemd and probe the app"
cat >"$root/usr/local/sbin/stampkit-boot-check" <<'CHECK'
#!/bin/bash
exec >/var/log/stampkit-boot-check.log 2>&1
python3 - <<'PY' || exit 1
import sys, time, urllib.request
for _ in range(60):
    try:
        r = urllib.request.urlopen("http://127.0.0.1:8080/readyz", timeout=2)
        print("readyz", r.status); break
    except Exception as e:
        last = e; time.sleep(1)
else:
    sys.exit("never ready: %s" % last)
print("work", urllib.request.urlopen("http://127.0.0.1:8080/work?ms=100", timeout=5).status)
PY
echo "user $(ps -o user= -C stampkit-app)"
systemctl stop stampkit-app.service
echo "stop $(systemctl show stampkit-app.service -p Result --value) $(systemctl show stampkit-app.service -p ExecMainStatus --value)"
grep -c '"msg":"stopped"' /var/log/stampkit/app.log | sed 's/^/stopped-lines /'
CHECK
chmod 0755 "$root/usr/local/sbin/stampkit-boot-check"
cat >"$root/etc/systemd/system/stampkit-boot-check.service" <<'UNIT'
[Unit]
After=stampkit-app.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/stampkit-boot-check
ExecStopPost=/bin/systemctl poweroff
[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable stampkit-boot-check.service >/dev/null 2>&1
timeout 180 systemd-nspawn -q -D "$root" --boot --private-network --register=no --keep-unit >"$work/boot.log" 2>&1 || true
result=$(cat "$root/var/log/stampkit-boot-check.log" 2>/dev/null || true)
echo "$result"
for want in "readyz 200" "work 200" "user stampkit" "stop success 0" "stopped-lines 1"; do
  grep -qx "$want" <<<"$result" || { tail -30 "$work/boot.log"; fail "boot check: want '$want'"; }
done
echo "chroot check: OK"
