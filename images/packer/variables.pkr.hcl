# Inputs of the bake. `make image` sets app_version (and the binary); the
# rest have defaults that match cdk.json's "web" fleet.

variable "fleet" {
  type        = string
  default     = "web"
  description = "Fleet the image is for: the stampkit:fleet tag the rollout Lambda matches."
}

variable "stamp" {
  type        = string
  default     = "main"
  description = "Stamp the image is for (cdk.json stamps[].name; main without stamps): names the app's log group, /stampkit/<stamp>/<fleet>/app."
}

variable "app_version" {
  type        = string
  description = "Version of the app baked in (stampkit:app-version tag), e.g. the git describe output."
}

variable "app_binary" {
  type        = string
  default     = ""
  description = "The linux/arm64 app binary (relative to the working directory); empty: bin/app/linux-arm64/stampkit-app of the repository."
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "instance_type" {
  type        = string
  default     = "t4g.small"
  description = "Build instance type; it must be arm64 (Graviton), as the source AMI is."
}

variable "root_volume_gib" {
  type        = number
  default     = 16
  description = "Root volume size; the fleet's rootVolumeGiB in cdk.json must be at least this."
}

variable "kms_key_id" {
  type        = string
  default     = ""
  description = "KMS key for the encrypted root volume; empty uses the account's default EBS key."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the build instance; empty uses the default VPC."
}

variable "ssh_source_cidrs" {
  type        = list(string)
  default     = ["0.0.0.0/0"]
  description = "CIDRs the temporary security group lets reach SSH; narrow it to the baking machine."
}

variable "manifest" {
  type        = string
  default     = ""
  description = "Where the manifest post-processor writes the build's AMI IDs; empty: out/packer-manifest.json of the repository."
}

variable "send_ready_event" {
  type        = bool
  default     = true
  description = "Send stampkit \"Image Ready\" for the AMI once it is tagged (needs events:PutEvents on the command bus, and to be named in the stack's commandPrincipals if it names any). With false the fleet hears of the image only from EC2's AMI State Change, which may come before the tags."
}

variable "ready_event_bus" {
  type        = string
  default     = "stampkit-commands"
  description = "The event bus \"Image Ready\" goes to: the stamp's command bus (stack output CommandBusName; stampkit-<stamp>-commands for a stamp other than main). The stack ignores it on the default bus."
}
