package stamp

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsimagebuilder"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stampkit/stampkit/infra/stampconfig"
)

// AppVersionTagKey tags images (and the pipeline's resources) with the
// version of the app baked in; FleetTagKey names the fleet. The rollout
// Lambda matches an image to a fleet by FleetTagKey.
const AppVersionTagKey = "stampkit:app-version"

// DefaultParentImageParameter is the public SSM parameter holding the
// latest arm64 Amazon Linux 2023 AMI. The recipe names it with the "ssm:"
// prefix, so Image Builder resolves it at each build: a scheduled rebuild
// picks up the newest AL2023 without a deploy.
const DefaultParentImageParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"

// maxComponentData is the most inline data an Image Builder component
// takes.
const maxComponentData = 16000

// DefaultBuildInstanceType is a small Graviton instance: the parent image
// is arm64.
const DefaultBuildInstanceType = "t4g.small"

// ImagePipelineProps configures the Image Builder pipeline of one fleet.
type ImagePipelineProps struct {
	// Fleet is the fleet the images are for (FleetTagKey on every image).
	Fleet string
	// Names, when set, are the stamp's: the pipeline and its resources
	// are named Names.ImageBuilder, the images carry StampTagKey, and the
	// app's log group defaults to Names.AppLogGroup. Left out, the names
	// are unique to the construct's path, and the log group the default
	// stamp's.
	Names *Names
	// AppVersion is the version of the app binary (AppVersionTagKey).
	AppVersion string
	// AppBinary is the path of the linux/arm64 app binary on the machine
	// running synth (`make build` writes bin/arm64/app/stampkit-app). It is
	// uploaded as an asset and downloaded by the build instance.
	AppBinary string
	// App is the app's configuration on the instance; zero fields take
	// DefaultAppSettings' values.
	App AppSettings
	// ParentImageParameter is the SSM parameter naming the parent AMI
	// (default DefaultParentImageParameter). It must be arm64 AL2023.
	ParentImageParameter string
	// BuildInstanceType is the build and test instance type (default
	// DefaultBuildInstanceType); it must be a Graviton (arm64) type.
	BuildInstanceType string
	// RootVolumeGiB is the image's encrypted gp3 root volume (default 16);
	// the fleet's launch template must ask for at least as much.
	RootVolumeGiB int
	// Vpc, if set, is where build and test instances run, in Subnets
	// (default: the private subnets with egress); they need outbound access
	// to SSM, S3 and the Amazon Linux repositories. Unset: the default VPC.
	Vpc     awsec2.IVpc
	Subnets *awsec2.SubnetSelection
	// Distributions are the Regions (and accounts) each build's AMI goes
	// to, the stack's own Region first (PlanWaves); empty: the stack's
	// Region alone.
	Distributions []Distribution
	// KmsKeyArn, when set, is the customer managed KMS key (of the
	// stack's Region) that encrypts the image's root volume; empty: the
	// account's default EBS key, which cannot be shared with another
	// account (stampconfig.CheckImageKeys). With Distributions empty it
	// encrypts the stack Region's AMI too.
	KmsKeyArn string
	// Schedule is an Image Builder cron expression, e.g.
	// "cron(0 4 ? * mon *)", that rebuilds the image (the parent image is
	// resolved afresh each time). Empty: builds run only when started.
	Schedule string
}

// ImagePipeline is an EC2 Image Builder pipeline that bakes the app into
// an arm64 Amazon Linux 2023 AMI. Every build emits an "EC2 Image Builder
// Image State Change" event; the rollout Lambda offers an AVAILABLE image
// to the fleet named by its FleetTagKey tag.
type ImagePipeline interface {
	// PipelineArn is the pipeline's ARN.
	PipelineArn() *string
	Pipeline() awsimagebuilder.CfnImagePipeline
	Recipe() awsimagebuilder.CfnImageRecipe
	// Component installs and configures the app (the Image Builder twin of
	// images/ansible's stampkit_app role).
	Component() awsimagebuilder.CfnComponent
	// InstanceRole is the build and test instances' role.
	InstanceRole() awsiam.IRole
}

type imagePipeline struct {
	pipeline  awsimagebuilder.CfnImagePipeline
	recipe    awsimagebuilder.CfnImageRecipe
	component awsimagebuilder.CfnComponent
	role      awsiam.IRole
}

func (p *imagePipeline) PipelineArn() *string                       { return p.pipeline.AttrArn() }
func (p *imagePipeline) Pipeline() awsimagebuilder.CfnImagePipeline { return p.pipeline }
func (p *imagePipeline) Recipe() awsimagebuilder.CfnImageRecipe     { return p.recipe }
func (p *imagePipeline) Component() awsimagebuilder.CfnComponent    { return p.component }
func (p *imagePipeline) InstanceRole() awsiam.IRole                 { return p.role }

var (
	fleetNamePattern    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	appVersionPattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	cronPattern         = regexp.MustCompile(`^cron\(.+\)$`)
	gravitonTypePattern = regexp.MustCompile(`^[a-z]+[0-9]+[a-z]*g[a-z]*\.[a-z0-9]+$`)
)

func (p *ImagePipelineProps) validate() []string {
	var errs []string
	bad := func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	}
	if !fleetNamePattern.MatchString(p.Fleet) {
		bad("Fleet", "%q is not a fleet name (lowercase letters, digits, '-', at most 32)", p.Fleet)
	}
	if !appVersionPattern.MatchString(p.AppVersion) {
		bad("AppVersion", "%q is not 1-64 of A-Z a-z 0-9 . _ -", p.AppVersion)
	}
	if p.AppBinary == "" {
		bad("AppBinary", "is empty; it is the path of the linux/arm64 app binary")
	}
	if !strings.HasPrefix(p.ParentImageParameter, "/") {
		bad("ParentImageParameter", "%q is not an SSM parameter name starting with /", p.ParentImageParameter)
	}
	if !gravitonTypePattern.MatchString(p.BuildInstanceType) {
		bad("BuildInstanceType", "%q is not a Graviton (arm64) instance type such as t4g.small", p.BuildInstanceType)
	}
	if p.RootVolumeGiB < 8 || p.RootVolumeGiB > 16384 {
		bad("RootVolumeGiB", "%d is outside 8..16384 (the AL2023 snapshot is 8 GiB)", p.RootVolumeGiB)
	}
	if p.Schedule != "" && !cronPattern.MatchString(p.Schedule) {
		bad("Schedule", "%q is not an Image Builder cron(...) expression", p.Schedule)
	}
	if p.Subnets != nil && p.Vpc == nil {
		bad("Subnets", "is set without Vpc")
	}
	for _, e := range p.App.validate() {
		errs = append(errs, "App."+e)
	}
	return errs
}

// NewImagePipeline creates the component, recipe, instance role and
// profile, infrastructure and distribution configurations and the
// pipeline. It panics on invalid props, naming each bad field.
func NewImagePipeline(scope constructs.Construct, id string, props *ImagePipelineProps) ImagePipeline {
	if props == nil {
		panic("NewImagePipeline: props is nil")
	}
	p := *props
	if p.ParentImageParameter == "" {
		p.ParentImageParameter = DefaultParentImageParameter
	}
	if p.BuildInstanceType == "" {
		p.BuildInstanceType = DefaultBuildInstanceType
	}
	if p.RootVolumeGiB == 0 {
		p.RootVolumeGiB = 16
	}
	names := NamesOf(DefaultStampName)
	if p.Names != nil {
		names = *p.Names
	}
	p.App = p.App.withDefaults(names, p.Fleet)
	if errs := p.validate(); len(errs) > 0 {
		panic(fmt.Sprintf("NewImagePipeline: invalid props: %s", strings.Join(errs, "; ")))
	}

	c := constructs.NewConstruct(scope, &id)
	stack := awscdk.Stack_Of(c)
	tags := map[string]*string{FleetTagKey: jsii.String(p.Fleet), AppVersionTagKey: jsii.String(p.AppVersion)}
	for k, v := range tags {
		awscdk.Tags_Of(c).Add(jsii.String(k), v, nil)
	}

	binary := awss3assets.NewAsset(c, jsii.String("AppBinary"), &awss3assets.AssetProps{Path: jsii.String(p.AppBinary)})

	role := awsiam.NewRole(c, jsii.String("InstanceRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ec2.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("stampkit %s Image Builder build and test instances", p.Fleet)),
		ManagedPolicies: &[]awsiam.IManagedPolicy{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("AmazonSSMManagedInstanceCore")),
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("EC2InstanceProfileForImageBuilder")),
		},
	})
	// Exactly the one object the component downloads, with one action:
	// Asset.GrantRead would give s3:GetObject*/List* on the whole bucket.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: jsii.Strings(*binary.Bucket().ArnForObjects(binary.S3ObjectKey())),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{
		{
			Id: jsii.String("AwsSolutions-IAM4"),
			Reason: jsii.String("Image Builder drives its build and test instances through Systems Manager: " +
				"AmazonSSMManagedInstanceCore and EC2InstanceProfileForImageBuilder are the AWS-maintained " +
				"minimum it documents for the instance profile"),
			AppliesTo: &[]any{
				"Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore",
				"Policy::arn:<AWS::Partition>:iam::aws:policy/EC2InstanceProfileForImageBuilder",
			},
		},
	}, jsii.Bool(true))
	profile := awsiam.NewInstanceProfile(c, jsii.String("InstanceProfile"), &awsiam.InstanceProfileProps{Role: role})

	// Image Builder components and recipes are immutable: a change must
	// come with a new name (or version). The names carry a hash of
	// everything that goes into them, so an update replaces them cleanly.
	fingerprint := func(parts ...any) string {
		sum := sha256.Sum256(fmt.Appendf(nil, "%q", parts))
		return hex.EncodeToString(sum[:])[:10]
	}
	baseName := *awscdk.Names_UniqueResourceName(c, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(80), Separator: jsii.String("-")})
	amiTags := map[string]string{FleetTagKey: p.Fleet, AppVersionTagKey: p.AppVersion, "stampkit:baked-by": "imagebuilder"}
	amiName := stampconfig.NamePrefix + p.Fleet
	if p.Names != nil {
		baseName = p.Names.ImageBuilder(p.Fleet)
		amiName = baseName
		amiTags[StampTagKey] = p.Names.Stamp()
	}
	files := InstanceFiles(p.App)
	draft := ComponentDocument(p.App, files, "s3://asset", "account")
	// CloudFormation takes at most 16,000 characters of inline data; leave
	// room for the real bucket URL and account.
	if len(draft)+256 > maxComponentData {
		panic(fmt.Sprintf("NewImagePipeline: the component document is %d characters, over the %d Image Builder accepts", len(draft), maxComponentData))
	}
	componentSum := fingerprint(draft, *binary.AssetHash(), p.Fleet, p.AppVersion)
	component := awsimagebuilder.NewCfnComponent(c, jsii.String("AppComponent"), &awsimagebuilder.CfnComponentProps{
		Name:                jsii.String(baseName + "-app-" + componentSum),
		Version:             jsii.String("1.0.0"),
		Platform:            jsii.String("Linux"),
		Description:         jsii.String(fmt.Sprintf("stampkit app %s for fleet %s, as images/ansible's stampkit_app role installs it", p.AppVersion, p.Fleet)),
		ChangeDescription:   jsii.String("app " + p.AppVersion),
		SupportedOsVersions: jsii.Strings("Amazon Linux 2023"),
		Data:                jsii.String(ComponentDocument(p.App, files, *binary.S3ObjectUrl(), *stack.Account())),
	})

	updateLinux := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("imagebuilder"), Account: jsii.String("aws"),
		Resource: jsii.String("component"), ResourceName: jsii.String("update-linux/x.x.x"),
	})
	recipeSum := fingerprint(*component.Name(), p.ParentImageParameter, p.RootVolumeGiB, p.Fleet, p.AppVersion, p.KmsKeyArn)
	var rootKey *string
	if p.KmsKeyArn != "" {
		rootKey = jsii.String(p.KmsKeyArn)
	}
	recipe := awsimagebuilder.NewCfnImageRecipe(c, jsii.String("Recipe"), &awsimagebuilder.CfnImageRecipeProps{
		Name:        jsii.String(baseName + "-recipe-" + recipeSum),
		Version:     jsii.String("1.0.0"),
		Description: jsii.String(fmt.Sprintf("stampkit %s: patched arm64 Amazon Linux 2023 with the app", p.Fleet)),
		ParentImage: jsii.String("ssm:" + p.ParentImageParameter),
		Components: &[]any{
			// Patch the parent first, so the image starts current.
			&awsimagebuilder.CfnImageRecipe_ComponentConfigurationProperty{ComponentArn: updateLinux},
			&awsimagebuilder.CfnImageRecipe_ComponentConfigurationProperty{ComponentArn: component.AttrArn()},
		},
		BlockDeviceMappings: &[]any{&awsimagebuilder.CfnImageRecipe_InstanceBlockDeviceMappingProperty{
			DeviceName: jsii.String("/dev/xvda"),
			Ebs: &awsimagebuilder.CfnImageRecipe_EbsInstanceBlockDeviceSpecificationProperty{
				VolumeSize:          jsii.Number(p.RootVolumeGiB),
				VolumeType:          jsii.String("gp3"),
				Encrypted:           jsii.Bool(true),
				KmsKeyId:            rootKey,
				DeleteOnTermination: jsii.Bool(true),
			},
		}},
		// Keep the SSM agent in the image: the fleet's instances are reached
		// through Session Manager, not SSH.
		AdditionalInstanceConfiguration: &awsimagebuilder.CfnImageRecipe_AdditionalInstanceConfigurationProperty{
			SystemsManagerAgent: &awsimagebuilder.CfnImageRecipe_SystemsManagerAgentProperty{UninstallAfterBuild: jsii.Bool(false)},
		},
	})

	infraProps := &awsimagebuilder.CfnInfrastructureConfigurationProps{
		Name:                       jsii.String(baseName + "-infrastructure"),
		Description:                jsii.String(fmt.Sprintf("stampkit %s image builds", p.Fleet)),
		InstanceProfileName:        profile.InstanceProfileName(),
		InstanceTypes:              jsii.Strings(p.BuildInstanceType),
		TerminateInstanceOnFailure: jsii.Bool(true),
		InstanceMetadataOptions: &awsimagebuilder.CfnInfrastructureConfiguration_InstanceMetadataOptionsProperty{
			HttpTokens:              jsii.String("required"),
			HttpPutResponseHopLimit: jsii.Number(1),
		},
		ResourceTags: &tags,
	}
	if p.Vpc != nil {
		subnets := p.Subnets
		if subnets == nil {
			subnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
		}
		ids := p.Vpc.SelectSubnets(subnets).SubnetIds
		if ids == nil || len(*ids) == 0 {
			panic("NewImagePipeline: Subnets selects no subnet of Vpc")
		}
		sg := awsec2.NewSecurityGroup(c, jsii.String("BuildSecurityGroup"), &awsec2.SecurityGroupProps{
			Vpc:         p.Vpc,
			Description: jsii.String(fmt.Sprintf("stampkit %s image builds: outbound only (SSM, S3, package repositories)", p.Fleet)),
			// No inbound rule: Image Builder reaches the instance through the
			// SSM agent's outbound connection.
			AllowAllOutbound: jsii.Bool(true),
		})
		infraProps.SubnetId = (*ids)[0]
		infraProps.SecurityGroupIds = &[]*string{sg.SecurityGroupId()}
	}
	infra := awsimagebuilder.NewCfnInfrastructureConfiguration(c, jsii.String("Infrastructure"), infraProps)

	dists := p.Distributions
	if len(dists) == 0 {
		dists = []Distribution{{Region: *stack.Region(), KmsKeyArn: p.KmsKeyArn}}
	}
	var distributions []any
	for _, d := range dists {
		// A JSON-typed property in CloudFormation: the CDK passes the keys
		// through as written, so they are spelled as CloudFormation wants.
		ami := map[string]any{
			// {{ imagebuilder:buildDate }} makes every build's AMI name
			// unique, and the same in every Region: a copy without the
			// Image Builder ARN tag is known by it (rollout.WaveImage).
			"Name":        fmt.Sprintf("%s-%s-{{ imagebuilder:buildDate }}", amiName, p.AppVersion),
			"Description": fmt.Sprintf("stampkit %s app %s on Amazon Linux 2023 (arm64)", p.Fleet, p.AppVersion),
			// The AMI's own tags: the rollout Lambda matches the image to
			// the fleet by them.
			"AmiTags": amiTags,
		}
		if len(d.TargetAccounts) > 0 {
			// Copies owned by each account (not a launch permission on
			// ours): the rollout refuses an AMI another account owns.
			ami["TargetAccountIds"] = d.TargetAccounts
		}
		if d.KmsKeyArn != "" {
			// Image Builder re-encrypts each copy with "the designated key
			// for that Region" ("Set up cross-account AMI distribution with
			// Image Builder").
			ami["KmsKeyId"] = d.KmsKeyArn
		}
		distributions = append(distributions, &awsimagebuilder.CfnDistributionConfiguration_DistributionProperty{
			Region: jsii.String(d.Region), AmiDistributionConfiguration: ami,
		})
	}
	distribution := awsimagebuilder.NewCfnDistributionConfiguration(c, jsii.String("Distribution"), &awsimagebuilder.CfnDistributionConfigurationProps{
		Name:          jsii.String(baseName + "-distribution"),
		Description:   jsii.String(fmt.Sprintf("stampkit %s AMIs in every Region a stamp of the fleet runs in", p.Fleet)),
		Distributions: &distributions,
	})

	pipelineProps := &awsimagebuilder.CfnImagePipelineProps{
		Name:                           jsii.String(baseName),
		Description:                    jsii.String(fmt.Sprintf("stampkit %s: bake the app into an AMI for the rollout", p.Fleet)),
		ImageRecipeArn:                 recipe.AttrArn(),
		InfrastructureConfigurationArn: infra.AttrArn(),
		DistributionConfigurationArn:   distribution.AttrArn(),
		Status:                         jsii.String("ENABLED"),
		EnhancedImageMetadataEnabled:   jsii.Bool(true),
		// The component's test phase runs on an instance launched from the
		// new AMI: the app must come up ready at boot.
		ImageTestsConfiguration: &awsimagebuilder.CfnImagePipeline_ImageTestsConfigurationProperty{
			ImageTestsEnabled: jsii.Bool(true),
			TimeoutMinutes:    jsii.Number(60),
		},
	}
	if p.Schedule != "" {
		pipelineProps.Schedule = &awsimagebuilder.CfnImagePipeline_ScheduleProperty{
			ScheduleExpression: jsii.String(p.Schedule),
			// Build on every tick: the parent image parameter and the
			// update-linux patches change without a version Image Builder
			// could compare.
			PipelineExecutionStartCondition: jsii.String("EXPRESSION_MATCH_ONLY"),
		}
	}
	pipeline := awsimagebuilder.NewCfnImagePipeline(c, jsii.String("Pipeline"), pipelineProps)

	return &imagePipeline{pipeline: pipeline, recipe: recipe, component: component, role: role}
}

// AppSettings are the app's settings on an instance. The Ansible role's
// variables (images/ansible/roles/stampkit_app/defaults/main.yml) carry the
// same values; imagepipeline_test.go keeps the two alike.
type AppSettings struct {
	// User runs the app (a system user without a shell).
	User string
	// Port and HealthPath are the fleet's app port and health check path.
	Port       int
	HealthPath string
	// WarmUp, DrainDelay, ShutdownTimeout and MaxWork configure the app
	// (images/app/main.go).
	WarmUp, DrainDelay, ShutdownTimeout, MaxWork time.Duration
	LogLevel                                     string
	// LogGroup receives the app's log (default Names.AppLogGroup, the
	// group the fleet creates).
	LogGroup string
	// CPUInterval is the cpu_usage_active resolution (default 10 s: the
	// default scaling policy's high-resolution alarm reads it);
	// MetricsInterval is memory's and disk's (default 60 s); MetricsFlush
	// is how long the agent buffers metrics (default 10 s, so a 10 s alarm
	// sees its datapoints in time).
	CPUInterval, MetricsInterval, MetricsFlush time.Duration
}

// DefaultAppSettings are the settings of the app of a fleet of the stamp
// names names unless told otherwise.
func DefaultAppSettings(names Names, fleet string) AppSettings {
	return AppSettings{
		User:            "stampkit",
		Port:            8080,
		HealthPath:      "/readyz",
		WarmUp:          10 * time.Second,
		DrainDelay:      5 * time.Second,
		ShutdownTimeout: 20 * time.Second,
		MaxWork:         2 * time.Second,
		LogLevel:        "info",
		LogGroup:        names.AppLogGroup(fleet),
		CPUInterval:     10 * time.Second,
		MetricsInterval: 60 * time.Second,
		MetricsFlush:    10 * time.Second,
	}
}

func (s AppSettings) withDefaults(names Names, fleet string) AppSettings {
	d := DefaultAppSettings(names, fleet)
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&s.User, d.User)
	set(&s.HealthPath, d.HealthPath)
	set(&s.LogLevel, d.LogLevel)
	set(&s.LogGroup, d.LogGroup)
	if s.Port == 0 {
		s.Port = d.Port
	}
	setD(&s.WarmUp, d.WarmUp)
	setD(&s.DrainDelay, d.DrainDelay)
	setD(&s.ShutdownTimeout, d.ShutdownTimeout)
	setD(&s.MaxWork, d.MaxWork)
	setD(&s.CPUInterval, d.CPUInterval)
	setD(&s.MetricsInterval, d.MetricsInterval)
	setD(&s.MetricsFlush, d.MetricsFlush)
	return s
}

var userPattern = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

func (s AppSettings) validate() []string {
	var errs []string
	if !userPattern.MatchString(s.User) {
		errs = append(errs, fmt.Sprintf("User: %q is not a user name", s.User))
	}
	if s.Port < 1 || s.Port > 65535 {
		errs = append(errs, fmt.Sprintf("Port: %d is outside 1..65535", s.Port))
	}
	if !strings.HasPrefix(s.HealthPath, "/") {
		errs = append(errs, fmt.Sprintf("HealthPath: %q does not start with /", s.HealthPath))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, s.LogLevel) {
		errs = append(errs, fmt.Sprintf("LogLevel: %q is not debug, info, warn or error", s.LogLevel))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"WarmUp", s.WarmUp}, {"DrainDelay", s.DrainDelay}, {"ShutdownTimeout", s.ShutdownTimeout}, {"MaxWork", s.MaxWork}} {
		if d.v < 0 {
			errs = append(errs, fmt.Sprintf("%s: %s is negative", d.name, d.v))
		}
	}
	// The agent's high-resolution intervals are 1, 5, 10 and 30 s; above
	// that a whole number of minutes.
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"CPUInterval", s.CPUInterval}, {"MetricsInterval", s.MetricsInterval}} {
		if !slices.Contains([]time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}, d.v) &&
			(d.v < time.Minute || d.v%time.Minute != 0) {
			errs = append(errs, fmt.Sprintf("%s: %s is not 1, 5, 10 or 30 s or whole minutes", d.name, d.v))
		}
	}
	if s.MetricsFlush < time.Second || s.MetricsFlush%time.Second != 0 {
		errs = append(errs, fmt.Sprintf("MetricsFlush: %s is not a whole number of seconds", s.MetricsFlush))
	}
	return errs
}

// StopTimeout is systemd's TimeoutStopSec for the app: the drain delay and
// shutdown timeout plus a 10 s margin, in whole seconds, so that systemd
// does not kill the app while it drains.
func (s AppSettings) StopTimeout() int {
	return int(math.Ceil((s.DrainDelay + s.ShutdownTimeout + 10*time.Second).Seconds()))
}

// InstanceFile is a file the image carries.
type InstanceFile struct {
	Path         string
	Owner, Group string
	Mode         string
	Content      string
}

// InstanceFiles returns the configuration files the app's image carries:
// the same files, with the same content, as the Ansible role's templates
// render (imagepipeline_test.go compares them).
func InstanceFiles(s AppSettings) []InstanceFile {
	return []InstanceFile{
		{Path: "/etc/systemd/system/stampkit-app.service", Owner: "root", Group: "root", Mode: "0644", Content: appUnit(s)},
		{Path: "/etc/stampkit/app.env", Owner: "root", Group: s.User, Mode: "0640", Content: appEnv(s)},
		{Path: "/etc/logrotate.d/stampkit-app", Owner: "root", Group: "root", Mode: "0644", Content: appLogrotate(s)},
		{Path: "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json", Owner: "root", Group: "root", Mode: "0644", Content: imageAgentConfig(s)},
		{Path: "/etc/ssh/sshd_config.d/00-stampkit.conf", Owner: "root", Group: "root", Mode: "0600", Content: sshdDropIn},
	}
}

func appUnit(s AppSettings) string {
	return `# Managed by stampkit (infra/imagepipeline.go and images/ansible).
[Unit]
Description=stampkit app
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User=` + s.User + `
Group=` + s.User + `
EnvironmentFile=/etc/stampkit/app.env
ExecStart=/usr/local/bin/stampkit-app
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=` + strconv.Itoa(s.StopTimeout()) + `
StandardOutput=append:/var/log/stampkit/app.log
StandardError=append:/var/log/stampkit/app.log
LogsDirectory=stampkit
LogsDirectoryMode=0750
UMask=0077
LimitNOFILE=65536
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
PrivateUsers=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_INET AF_INET6
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`
}

func appEnv(s AppSettings) string {
	return fmt.Sprintf(`# Managed by stampkit: the app's configuration (see images/app/main.go).
STAMPKIT_APP_PORT=%d
STAMPKIT_APP_WARMUP=%s
STAMPKIT_APP_DRAIN_DELAY=%s
STAMPKIT_APP_SHUTDOWN_TIMEOUT=%s
STAMPKIT_APP_MAX_WORK=%s
STAMPKIT_APP_LOG_LEVEL=%s
`, s.Port, s.WarmUp, s.DrainDelay, s.ShutdownTimeout, s.MaxWork, s.LogLevel)
}

func appLogrotate(s AppSettings) string {
	return `# Managed by stampkit. copytruncate: systemd holds the log open (append:).
/var/log/stampkit/*.log {
    daily
    rotate 7
    maxsize 100M
    missingok
    notifempty
    compress
    delaycompress
    copytruncate
    su ` + s.User + ` ` + s.User + `
}
`
}

// sshdDropIn is read before sshd_config's own settings and before other
// drop-ins (cloud-init's among them): sshd keeps the first value it reads.
const sshdDropIn = `# Managed by stampkit: read first, so these values win.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PermitRootLogin no
`

// imageAgentConfig is the CloudWatch agent's configuration. cpu_usage_active
// in namespace CWAgent, aggregated by AutoScalingGroupName alone, is the
// metric and dimension shared/scaling.DefaultPolicy's CPU alarms read.
func imageAgentConfig(s AppSettings) string {
	type obj = map[string]any
	seconds := func(d time.Duration) int { return int(d / time.Second) }
	doc := obj{
		"agent": obj{
			"metrics_collection_interval": seconds(s.MetricsInterval),
			// root: the app's log is 0600 root-created (systemd opens it for
			// the app's stdout under UMask=0077); the cwagent user could not
			// read it.
			"run_as_user": "root",
		},
		"metrics": obj{
			"namespace":            "CWAgent",
			"force_flush_interval": seconds(s.MetricsFlush),
			"append_dimensions": obj{
				"AutoScalingGroupName": "${aws:AutoScalingGroupName}",
				"InstanceId":           "${aws:InstanceId}",
			},
			"aggregation_dimensions": [][]string{{"AutoScalingGroupName"}},
			"metrics_collected": obj{
				"cpu": obj{
					"measurement":                 []string{"cpu_usage_active"},
					"metrics_collection_interval": seconds(s.CPUInterval),
					"totalcpu":                    true,
				},
				"mem":  obj{"measurement": []string{"mem_used_percent"}},
				"disk": obj{"measurement": []string{"used_percent"}, "resources": []string{"/"}, "drop_device": true},
			},
		},
		"logs": obj{
			"logs_collected": obj{
				"files": obj{
					"collect_list": []obj{{
						"file_path":       "/var/log/stampkit/app.log",
						"log_group_name":  s.LogGroup,
						"log_stream_name": "{instance_id}",
					}},
				},
			},
		},
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("encoding the CloudWatch agent configuration: %v", err)) // maps of strings and numbers cannot fail
	}
	return string(raw) + "\n"
}

// imageAgentCtl is the agent's control script. fetch-config without -s checks
// and translates the configuration; the agent starts with it at boot.
const imageAgentCtl = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 " +
	"-c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"

// ComponentDocument is the AWSTOE document of the app's component: the
// build phase does what the Ansible role does, the validate phase (on the
// build instance) is the role's smoke test, and the test phase runs on an
// instance launched from the new image. binaryURL is the app binary's
// s3:// URL and bucketOwner the account that owns its bucket.
func ComponentDocument(s AppSettings, files []InstanceFile, binaryURL, bucketOwner string) string {
	script := func(lines ...string) map[string]any {
		return map[string]any{"commands": []string{"set -euo pipefail\n" + strings.Join(lines, "\n")}}
	}
	var write []string
	for _, f := range files {
		// base64 keeps the content clear of shell quoting and of AWSTOE's
		// own {{ }} variable syntax.
		write = append(write, fmt.Sprintf("echo %s | base64 -d | install -D -m %s -o %s -g %s /dev/stdin %s",
			base64.StdEncoding.EncodeToString([]byte(f.Content)), f.Mode, f.Owner, f.Group, f.Path))
	}
	readyURL := fmt.Sprintf("http://127.0.0.1:%d%s", s.Port, s.HealthPath)
	waitReady := `ok=""
for i in $(seq 1 90); do
  if curl -fsS -o /dev/null --max-time 2 ` + readyURL + `; then ok=1; break; fi
  sleep 2
done
if [ -z "$ok" ]; then systemctl status stampkit-app.service --no-pager || true; tail -n 50 /var/log/stampkit/app.log || true; exit 1; fi`
	checkSSHD := `effective=$(/usr/sbin/sshd -T)
for want in "passwordauthentication no" "kbdinteractiveauthentication no" "permitrootlogin no"; do
  grep -qx "$want" <<<"$effective" || { echo "sshd: want $want" >&2; exit 1; }
done`
	step := func(name, action string, inputs any) map[string]any {
		return map[string]any{"name": name, "action": action, "onFailure": "Abort", "inputs": inputs}
	}
	doc := tomDocument{
		Name:          "stampkit-app",
		Description:   "Installs the stampkit app as a hardened systemd service, configures the CloudWatch agent and turns off SSH password login.",
		SchemaVersion: "1.0",
		Phases: []tomPhase{
			{Name: "build", Steps: []map[string]any{
				step("InstallPackages", "ExecuteBash", script("dnf install -y amazon-cloudwatch-agent logrotate")),
				step("CreateUser", "ExecuteBash", script(
					fmt.Sprintf("getent group %[1]s >/dev/null || groupadd --system %[1]s", s.User),
					fmt.Sprintf("id -u %[1]s >/dev/null 2>&1 || useradd --system --gid %[1]s --home-dir /nonexistent --no-create-home --shell /sbin/nologin %[1]s", s.User),
					fmt.Sprintf("install -d -m 0750 -o root -g %s /etc/stampkit", s.User),
					fmt.Sprintf("install -d -m 0750 -o %[1]s -g %[1]s /var/log/stampkit", s.User),
				)),
				step("DownloadApp", "S3Download", []map[string]any{{
					"source": binaryURL, "destination": "/tmp/stampkit-app", "expectedBucketOwner": bucketOwner,
				}}),
				step("InstallApp", "ExecuteBash", script(
					"install -m 0755 -o root -g root /tmp/stampkit-app /usr/local/bin/stampkit-app",
					"rm -f /tmp/stampkit-app",
				)),
				step("WriteFiles", "ExecuteBash", script(write...)),
				step("ConfigureServices", "ExecuteBash", script(
					`sed -i -E 's/^#?[[:space:]]*PasswordAuthentication[[:space:]].*/PasswordAuthentication no/' /etc/ssh/sshd_config`,
					"/usr/sbin/sshd -t",
					"systemctl daemon-reload",
					"systemctl enable stampkit-app.service amazon-cloudwatch-agent.service",
					imageAgentCtl,
				)),
			}},
			{Name: "validate", Steps: []map[string]any{
				step("SmokeTest", "ExecuteBash", script(
					"systemctl start stampkit-app.service",
					waitReady,
					checkSSHD,
					// As the role's image clean-up: the image's first boot starts
					// the app afresh, without the bake's log lines.
					"systemctl stop stampkit-app.service",
					"rm -f /var/log/stampkit/app.log",
				)),
			}},
			{Name: "test", Steps: []map[string]any{
				step("ReadyAtBoot", "ExecuteBash", script(
					waitReady,
					checkSSHD,
					`test "$(systemctl show stampkit-app.service -p NoNewPrivileges --value)" = yes`,
					"systemctl is-enabled amazon-cloudwatch-agent.service",
				)),
			}},
		},
	}
	return doc.yaml()
}

// tomDocument is an AWSTOE component document.
type tomDocument struct {
	Name, Description, SchemaVersion string
	Phases                           []tomPhase
}

type tomPhase struct {
	Name  string
	Steps []map[string]any
}

// yaml renders the document as block YAML whose scalars are all
// double-quoted JSON strings (valid YAML double-quoted scalars), so no
// value can be misread as another type or break the structure.
func (d tomDocument) yaml() string {
	var b strings.Builder
	q := func(s string) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep > and & readable in the scripts
		_ = enc.Encode(s)        // a string always encodes
		return strings.TrimSuffix(buf.String(), "\n")
	}
	fmt.Fprintf(&b, "name: %s\ndescription: %s\nschemaVersion: %s\nphases:\n", q(d.Name), q(d.Description), q(d.SchemaVersion))
	for _, ph := range d.Phases {
		fmt.Fprintf(&b, "  - name: %s\n    steps:\n", q(ph.Name))
		for _, st := range ph.Steps {
			fmt.Fprintf(&b, "      - name: %s\n        action: %s\n        onFailure: %s\n        inputs:\n",
				q(st["name"].(string)), q(st["action"].(string)), q(st["onFailure"].(string)))
			switch in := st["inputs"].(type) {
			case map[string]any: // ExecuteBash
				b.WriteString("          commands:\n")
				for _, cmd := range in["commands"].([]string) {
					fmt.Fprintf(&b, "            - %s\n", q(cmd))
				}
			case []map[string]any: // S3Download
				for _, item := range in {
					keys := make([]string, 0, len(item))
					for k := range item {
						keys = append(keys, k)
					}
					slices.Sort(keys)
					for i, k := range keys {
						prefix := "            "
						if i == 0 {
							prefix = "          - "
						}
						fmt.Fprintf(&b, "%s%s: %s\n", prefix, k, q(item[k].(string)))
					}
				}
			default:
				panic(fmt.Sprintf("component step %v: inputs of type %T", st["name"], in))
			}
		}
	}
	return b.String()
}
