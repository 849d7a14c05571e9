#!/usr/bin/env bash
# Offline checks of the image bake: Packer template and its image-ready
# post-processor, Ansible playbook and role, and the files the role
# renders. No AWS call, no network: Packer runs with dummy credentials
# behind a proxy that refuses every connection, image-ready.sh with a
# stand-in `aws`.
# Any finding fails. Needs packer, ansible-core, ansible-lint (Debian
# packages) and systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")"
images=$PWD

for tool in packer:packer ansible-playbook:ansible-core ansible-lint:ansible-lint systemd-analyze:systemd; do
  command -v "${tool%%:*}" >/dev/null ||
    { echo "images/check.sh: ${tool%%:*} is missing (apt-get install -y ${tool#*:})" >&2; exit 1; }
done
step() { printf '== %s\n' "$*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "packer fmt"
packer fmt -check -diff packer

step "packer validate -syntax-only"
packer validate -syntax-only -var app_version=check packer

# A full validate also checks every attribute against the builder's and
# provisioner's schemas (-syntax-only does not). Packer 1.6.6 makes no AWS
# call while validating; the proxy makes sure of it.
step "packer validate"
touch "$work/stampkit-app"
env HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= \
  AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=check AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  packer validate -var app_version=check -var app_binary="$work/stampkit-app" packer

# The last post-processor announces the AMI; run it against a manifest of
# two runs with a stand-in `aws` that records what it is asked.
step "image-ready.sh announces this run's AMI"
bash -n packer/image-ready.sh
mkdir -p "$work/bin"
cat >"$work/bin/aws" <<'SH'
#!/bin/sh
printf '%s\n' "$*" >>"$AWS_CALLS"
echo "${AWS_FAILED:-0}"
SH
chmod +x "$work/bin/aws"
cat >"$work/manifest.json" <<'JSON'
{"builds": [
  {"artifact_id": "us-east-1:ami-00000000000000001", "packer_run_uuid": "earlier-run"},
  {"artifact_id": "us-east-1:ami-0123456789abcdef0,eu-west-1:ami-0fedcba9876543210", "packer_run_uuid": "this-run"}
]}
JSON
env PATH="$work/bin:$PATH" AWS_CALLS="$work/calls" STAMPKIT_MANIFEST="$work/manifest.json" PACKER_RUN_UUID=this-run \
  packer/image-ready.sh >/dev/null
expected='events put-events --region us-east-1 --entries [{"Source": "stampkit", "DetailType": "Image Ready", "Detail": "{\"imageId\": \"ami-0123456789abcdef0\"}", "EventBusName": "stampkit-commands"}] --query FailedEntryCount --output text
events put-events --region eu-west-1 --entries [{"Source": "stampkit", "DetailType": "Image Ready", "Detail": "{\"imageId\": \"ami-0fedcba9876543210\"}", "EventBusName": "stampkit-commands"}] --query FailedEntryCount --output text'
if [ "$(cat "$work/calls")" != "$expected" ]; then
  printf 'image-ready.sh called:\n%s\nwant:\n%s\n' "$(cat "$work/calls")" "$expected"; exit 1
fi
# Another stack's bus (STAMPKIT_BUS, from -var ready_event_bus).
: >"$work/calls"
env PATH="$work/bin:$PATH" AWS_CALLS="$work/calls" STAMPKIT_MANIFEST="$work/manifest.json" PACKER_RUN_UUID=this-run STAMPKIT_BUS=stampkit-commands-blue \
  packer/image-ready.sh >/dev/null
if ! grep -q '"EventBusName": "stampkit-commands-blue"' "$work/calls"; then
  printf 'image-ready.sh with STAMPKIT_BUS=stampkit-commands-blue called:\n%s\n' "$(cat "$work/calls")"; exit 1
fi
if env PATH="$work/bin:$PATH" AWS_CALLS=/dev/null AWS_FAILED=1 STAMPKIT_MANIFEST="$work/manifest.json" PACKER_RUN_UUID=this-run \
  packer/image-ready.sh >/dev/null 2>&1; then
  echo "image-ready.sh: succeeded although PutEvents dropped the entry"; exit 1
fi
if env PATH="$work/bin:$PATH" AWS_CALLS=/dev/null STAMPKIT_MANIFEST="$work/manifest.json" PACKER_RUN_UUID=other-run \
  packer/image-ready.sh >/dev/null 2>&1; then
  echo "image-ready.sh: succeeded for a run the manifest does not hold"; exit 1
fi

step "ansible-playbook --syntax-check"
(cd ansible && ansible-playbook --syntax-check -i localhost, playbook.yml)

step "ansible-lint (production profile, strict)"
(cd ansible && ansible-lint --nocolor)

# Render the role's templates with its defaults, as Ansible would (with
# Debian's python3, which has Ansible's jinja2 and yaml), and check what
# they produce.
step "render the role's templates"
/usr/bin/python3 - "$images/ansible/roles/stampkit_app" "$work/root" <<'PY'
import os, sys, yaml, jinja2
role, root = sys.argv[1], sys.argv[2]
env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
with open(os.path.join(role, "defaults", "main.yml")) as f:
    raw = yaml.safe_load(f)
ctx = {"playbook_dir": os.path.join(role, "..", "..")}
pending = dict(raw)
while pending:  # defaults may refer to each other
    done = {}
    for k, v in pending.items():
        try:
            done[k] = env.from_string(v).render(ctx) if isinstance(v, str) else v
        except jinja2.exceptions.UndefinedError:
            pass
    if not done:
        sys.exit("defaults/main.yml: cannot resolve %s" % sorted(pending))
    ctx.update(done)
    pending = {k: v for k, v in pending.items() if k not in done}
dests = {
    "stampkit-app.service.j2": "etc/systemd/system/stampkit-app.service",
    "app.env.j2": "etc/stampkit/app.env",
    "logrotate.j2": "etc/logrotate.d/stampkit-app",
    "amazon-cloudwatch-agent.json.j2": "opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json",
    "sshd.conf.j2": "etc/ssh/sshd_config.d/00-stampkit.conf",
}
templates = sorted(os.listdir(os.path.join(role, "templates")))
if sorted(dests) != templates:
    sys.exit("templates %s, check.sh knows %s" % (templates, sorted(dests)))
for name, dest in dests.items():
    with open(os.path.join(role, "templates", name)) as f:
        out = env.from_string(f.read()).render(ctx)
    path = os.path.join(root, dest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(out)
PY

step "CloudWatch agent configuration is JSON"
/usr/bin/python3 -m json.tool "$work/root/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json" >/dev/null

# verify needs the host's units (sysinit.target, ...) and the executable;
# it reports unknown keys and bad values but exits 0, so any output fails.
step "systemd-analyze verify"
mkdir -p "$work/root/usr/lib/systemd" "$work/root/usr/local/bin"
cp -a /usr/lib/systemd/system "$work/root/usr/lib/systemd/"
printf '#!/bin/sh\n' >"$work/root/usr/local/bin/stampkit-app"
chmod 0755 "$work/root/usr/local/bin/stampkit-app"
out=$(systemd-analyze verify --root="$work/root" stampkit-app.service 2>&1)
if [ -n "$out" ]; then echo "$out"; exit 1; fi

step "systemd-analyze security (exposure at most 2.0)"
exposure=$(systemd-analyze security --offline=true --root="$work/root" stampkit-app.service |
  sed -n 's/.*Overall exposure level for stampkit-app.service: \([0-9.]*\).*/\1/p')
echo "exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }'

# sshd's own check of the drop-in needs host keys and its privilege
# separation directory: the role runs it (validate: sshd -t) on the build
# instance, and images/chroot-check.sh on a real tree.

echo "images/check.sh: all checks passed"
