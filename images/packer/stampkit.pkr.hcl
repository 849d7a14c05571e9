# The stamp pattern's bake step: an immutable arm64 Amazon Linux 2023 AMI
# with the stampkit app installed by images/ansible/playbook.yml.
#
#   packer build -var app_version=1.2.3 images/packer
#
# The AMI carries stampkit:fleet. Once Packer has tagged it, the last
# post-processor sends stampkit "Image Ready" for it (image-ready.sh), and
# the rollout Lambda offers it to that fleet. (EC2's "AMI State Change"
# comes when the AMI is available, which may be before Packer tags it.)
#
# Written for Packer 1.6.6 (Debian's): no packer { required_plugins }
# block (1.7+), the builder and provisioner built into that release, and
# no metadata_options / imds_support (later releases) — the build
# instance answers IMDSv1 too; the fleet's launch template requires IMDSv2
# on every instance launched from the image.

locals {
  # Sortable and unique per build (UTC): 20261130-141502.
  stamp = formatdate("YYYYMMDD-hhmmss", timestamp())
  # Variable defaults cannot use path.root; these resolve them.
  repo       = abspath("${path.root}/../..")
  app_binary = var.app_binary != "" ? abspath(var.app_binary) : "${local.repo}/bin/app/linux-arm64/stampkit-app"
  manifest   = var.manifest != "" ? var.manifest : "${local.repo}/out/packer-manifest.json"
  tags = {
    "stampkit:stamp"       = var.stamp
    "stampkit:fleet"       = var.fleet
    "stampkit:app-version" = var.app_version
  }
}

source "amazon-ebs" "al2023" {
  region        = var.region
  instance_type = var.instance_type
  subnet_id     = var.subnet_id

  # The standard AL2023 image: "al2023-ami-*-arm64" alone also matches the
  # minimal ("al2023-ami-minimal-...") and ECS-optimized
  # ("al2023-ami-ecs-hvm-...") images, and most_recent could pick either.
  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-kernel-*-arm64"
      architecture        = "arm64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  ami_name        = "stampkit-${var.fleet}-${var.app_version}-${local.stamp}"
  ami_description = "stampkit ${var.fleet} app ${var.app_version} on Amazon Linux 2023 (arm64)"
  ena_support     = true

  # The instance boots from an encrypted volume, so CreateImage yields an
  # encrypted AMI directly. (encrypt_boot = true would build an unencrypted
  # intermediate AMI and copy it, which emits an extra "AMI available"
  # event for an untagged image.)
  launch_block_device_mappings {
    device_name = "/dev/xvda"
    volume_size = var.root_volume_gib
    volume_type = "gp3"
    # gp3's baseline; Packer 1.6.6 requires both to be set for gp3.
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }

  ssh_username                          = "ec2-user"
  temporary_security_group_source_cidrs = var.ssh_source_cidrs

  run_tags = {
    Name             = "packer stampkit ${var.fleet} ${var.app_version}"
    "stampkit:fleet" = var.fleet
  }
  run_volume_tags = local.tags
  snapshot_tags   = local.tags
  tags = merge(local.tags, {
    Name                       = "stampkit-${var.fleet}-${var.app_version}"
    "stampkit:source-ami"      = "{{ .SourceAMI }}"
    "stampkit:source-ami-name" = "{{ .SourceAMIName }}"
    "stampkit:baked-by"        = "packer"
  })
}

build {
  sources = ["source.amazon-ebs.al2023"]

  provisioner "ansible" {
    playbook_file = "${path.root}/../ansible/playbook.yml"
    user          = "ec2-user"
    # Connect straight to the instance: 1.6.6's SSH proxy offers only
    # ssh-rsa (SHA-1) host keys, which OpenSSH 8.8+ clients refuse.
    use_proxy = false
    ansible_env_vars = [
      "ANSIBLE_ROLES_PATH=${path.root}/../ansible/roles",
      "ANSIBLE_CONFIG=${path.root}/../ansible/ansible.cfg",
    ]
    extra_arguments = [
      "--extra-vars", "stampkit_app_stamp=${var.stamp}",
      "--extra-vars", "stampkit_app_fleet=${var.fleet}",
      "--extra-vars", "stampkit_app_binary=${local.app_binary}",
      "--extra-vars", "stampkit_app_image_cleanup=true",
    ]
  }

  # In one chain, in order: the manifest records the AMI, then the image is
  # announced ready (image-ready.sh says why).
  post-processors {
    post-processor "manifest" {
      output     = local.manifest
      strip_path = true
      custom_data = {
        fleet       = var.fleet
        app_version = var.app_version
      }
    }

    post-processor "shell-local" {
      script = "${path.root}/image-ready.sh"
      environment_vars = [
        "STAMPKIT_MANIFEST=${local.manifest}",
        "STAMPKIT_SEND=${var.send_ready_event}",
        "STAMPKIT_BUS=${var.ready_event_bus}",
      ]
    }
  }
}
