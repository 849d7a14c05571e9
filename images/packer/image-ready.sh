#!/usr/bin/env bash
# Announces the AMI this Packer run baked to the rollout Lambda: one stampkit
# "Image Ready" event, detail {"imageId": "ami-..."}, on the stack's command
# bus (the stack ignores it on the default bus) of each region the run
# produced an AMI in. A region without the bus accepts the event and drops
# it, as the default bus of a region without the stack did.
#
# Why: Packer's amazon-ebs builder tags the AMI after it becomes available,
# so EC2's own "EC2 AMI State Change" (available) may be read before the
# stampkit:fleet tag is there, and the image ignored. Post-processors run
# after the builder has finished, tags included; this one runs after the
# manifest post-processor, whose file names the run's AMIs.
#
# The shell-local post-processor runs it with
#   STAMPKIT_MANIFEST  the manifest file
#   STAMPKIT_SEND      "true" to send, anything else to skip
#   STAMPKIT_BUS       the command bus (default stampkit-commands)
# and Packer's own PACKER_RUN_UUID, which the manifest records per build.
# Needs python3 and the AWS CLI, with events:PutEvents on the command bus
# (and a place in the stack's commandPrincipals if it names any).
set -euo pipefail

if [ "${STAMPKIT_SEND:-true}" != true ]; then
  echo "image-ready: not announcing the image (send_ready_event = false)"
  exit 0
fi
: "${STAMPKIT_MANIFEST:?is not set}" "${PACKER_RUN_UUID:?is not set (Packer sets it for its post-processors)}"

# One line per AMI of this run: region, then the PutEvents entries (JSON).
entries=$(python3 - "$STAMPKIT_MANIFEST" "$PACKER_RUN_UUID" "${STAMPKIT_BUS:-stampkit-commands}" <<'PY'
import json, re, sys

manifest, run, bus = sys.argv[1], sys.argv[2], sys.argv[3]
with open(manifest) as f:
    builds = [b for b in json.load(f).get("builds", []) if b.get("packer_run_uuid") == run]
if not builds:
    sys.exit("image-ready: %s has no build of run %s" % (manifest, run))
# amazon-ebs: "us-east-1:ami-0123...", comma-separated when copied to more
# regions.
for pair in builds[-1]["artifact_id"].split(","):
    region, _, ami = pair.partition(":")
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", region) or not re.fullmatch(r"ami-[0-9a-f]{8,17}", ami):
        sys.exit("image-ready: artifact %r is not region:ami-id" % pair)
    entry = {"Source": "stampkit", "DetailType": "Image Ready", "Detail": json.dumps({"imageId": ami}), "EventBusName": bus}
    print(region, json.dumps([entry]))
PY
)

while read -r region batch; do
  # PutEvents answers 200 even when it drops an entry: check the count.
  failed=$(aws events put-events --region "$region" --entries "$batch" --query FailedEntryCount --output text)
  if [ "$failed" != 0 ]; then
    echo "image-ready: EventBridge in $region refused the event ($failed failed): $batch" >&2
    exit 1
  fi
  echo "image-ready: announced $batch in $region"
done <<<"$entries"
