package stamp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
	"github.com/google/go-cmp/cmp"
)

// ipAnsibleRole is the role the Image Builder component mirrors.
const ipAnsibleRole = "../../images/ansible/roles/stampkit_app"

// ipStack builds a stack holding only an ImagePipeline, with the
// AwsSolutions checks applied, and returns its template. The environment
// is fixed and the VPC imported, so nothing is looked up.
func ipStack(t *testing.T, mutate func(*ImagePipelineProps)) (awscdk.Stack, ImagePipeline, assertions.Template) {
	t.Helper()
	dir := t.TempDir()
	binary := filepath.Join(dir, "stampkit-app")
	if err := os.WriteFile(binary, []byte("not a real binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:                          jsii.String(filepath.Join(dir, "cdk.out")),
		StackTraces:                     jsii.Bool(false),
		BuiltinCloudFormationValidation: jsii.Bool(false),
	})
	stack := awscdk.NewStack(app, jsii.String("ImageTest"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("us-east-1")},
	})
	vpc := awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId:             jsii.String("vpc-12345678"),
		AvailabilityZones: jsii.Strings("us-east-1a", "us-east-1b"),
		PrivateSubnetIds:  jsii.Strings("subnet-0000000a", "subnet-0000000b"),
	})
	props := &ImagePipelineProps{
		Fleet:      "web",
		AppVersion: "1.2.3",
		AppBinary:  binary,
		Vpc:        vpc,
		Schedule:   "cron(0 4 ? * mon *)",
	}
	if mutate != nil {
		mutate(props)
	}
	var ip ImagePipeline
	check(t, "constructing the pipeline", func() { ip = NewImagePipeline(stack, "ImagePipeline", props) })
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	var tmpl assertions.Template
	check(t, "synthesizing (an unsuppressed cdk-nag error fails here)", func() { tmpl = assertions.Template_FromStack(stack, nil) })
	return stack, ip, tmpl
}

// ipResources returns the template's resources of one type by logical id.
func ipResources(t *testing.T, tmpl assertions.Template, typ string) map[string]map[string]any {
	t.Helper()
	raw, err := json.Marshal(tmpl.FindResources(jsii.String(typ), nil))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ipOnly returns the Properties of the one resource of typ.
func ipOnly(t *testing.T, tmpl assertions.Template, typ string) (string, map[string]any) {
	t.Helper()
	rs := ipResources(t, tmpl, typ)
	if len(rs) != 1 {
		t.Fatalf("got %d %s resources, want 1", len(rs), typ)
	}
	for id, r := range rs {
		p, _ := r["Properties"].(map[string]any)
		return id, p
	}
	return "", nil
}

// compactJSON is v as compact JSON.
func compactJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestImagePipeline(t *testing.T) {
	stack, ip, tmpl := ipStack(t, nil)
	tags := map[string]any{FleetTagKey: "web", AppVersionTagKey: "1.2.3"}

	componentID, component := ipOnly(t, tmpl, "AWS::ImageBuilder::Component")
	recipeID, recipe := ipOnly(t, tmpl, "AWS::ImageBuilder::ImageRecipe")
	infraID, infra := ipOnly(t, tmpl, "AWS::ImageBuilder::InfrastructureConfiguration")
	distID, dist := ipOnly(t, tmpl, "AWS::ImageBuilder::DistributionConfiguration")
	_, pipeline := ipOnly(t, tmpl, "AWS::ImageBuilder::ImagePipeline")
	profileID, _ := ipOnly(t, tmpl, "AWS::IAM::InstanceProfile")

	t.Run("recipe", func(t *testing.T) {
		if got, want := recipe["ParentImage"], "ssm:"+DefaultParentImageParameter; got != want {
			t.Errorf("ParentImage got %v, want %v", got, want)
		}
		if !strings.Contains(DefaultParentImageParameter, "al2023") || !strings.HasSuffix(DefaultParentImageParameter, "-arm64") {
			t.Errorf("DefaultParentImageParameter %q is not arm64 Amazon Linux 2023", DefaultParentImageParameter)
		}
		want := []any{map[string]any{
			"DeviceName": "/dev/xvda",
			"Ebs": map[string]any{
				"DeleteOnTermination": true, "Encrypted": true, "VolumeSize": float64(16), "VolumeType": "gp3",
			},
		}}
		if d := cmp.Diff(want, recipe["BlockDeviceMappings"]); d != "" {
			t.Errorf("BlockDeviceMappings (-want +got):\n%s", d)
		}
		comps, _ := recipe["Components"].([]any)
		if len(comps) != 2 {
			t.Fatalf("Components got %v, want update-linux then the app", recipe["Components"])
		}
		if s := compactJSON(t, comps[0]); !strings.Contains(s, ":aws:component/update-linux/x.x.x") {
			t.Errorf("first component got %s, want AWS's update-linux", s)
		}
		if d := cmp.Diff(map[string]any{"ComponentArn": getAtt(componentID, "Arn")}, comps[1]); d != "" {
			t.Errorf("second component (-want +got):\n%s", d)
		}
		if d := cmp.Diff(tags, recipe["Tags"]); d != "" {
			t.Errorf("recipe Tags (-want +got):\n%s", d)
		}
	})

	t.Run("component", func(t *testing.T) {
		if component["Platform"] != "Linux" || component["Version"] != "1.0.0" {
			t.Errorf("Platform, Version got %v, %v; want Linux, 1.0.0", component["Platform"], component["Version"])
		}
		// The binary's URL is a token into the assets bucket; the rest of the
		// document is the one ComponentDocument renders.
		data := compactJSON(t, component["Data"])
		for _, want := range []string{"S3Download", "cdk-hnb659fds-assets-111111111111-us-east-1", `expectedBucketOwner: \"111111111111\"`} {
			if !strings.Contains(data, want) {
				t.Errorf("component Data does not contain %q:\n%s", want, data)
			}
		}
	})

	t.Run("infrastructure", func(t *testing.T) {
		want := map[string]any{
			"InstanceProfileName":        ref(profileID),
			"InstanceTypes":              []any{DefaultBuildInstanceType},
			"TerminateInstanceOnFailure": true,
			"InstanceMetadataOptions":    map[string]any{"HttpTokens": "required", "HttpPutResponseHopLimit": float64(1)},
			"SubnetId":                   "subnet-0000000a",
			"ResourceTags":               tags,
		}
		for k, v := range want {
			if d := cmp.Diff(v, infra[k]); d != "" {
				t.Errorf("%s (-want +got):\n%s", k, d)
			}
		}
		sgs, _ := infra["SecurityGroupIds"].([]any)
		if len(sgs) != 1 {
			t.Fatalf("SecurityGroupIds got %v, want the build security group", infra["SecurityGroupIds"])
		}
		sgID := ""
		if ga, ok := sgs[0].(map[string]any)["Fn::GetAtt"].([]any); ok {
			sgID, _ = ga[0].(string)
		}
		sg := ipResources(t, tmpl, "AWS::EC2::SecurityGroup")[sgID]
		if sg == nil {
			t.Fatalf("SecurityGroupIds[0] %v is not a security group of the stack", sgs[0])
		}
		if in := sg["Properties"].(map[string]any)["SecurityGroupIngress"]; in != nil {
			t.Errorf("build security group ingress got %v, want none", in)
		}
	})

	t.Run("instance role", func(t *testing.T) {
		roleID := ipLogicalID(t, stack, ip.InstanceRole().RoleName())
		role := ipResources(t, tmpl, "AWS::IAM::Role")[roleID]
		policies := compactJSON(t, role["Properties"].(map[string]any)["ManagedPolicyArns"])
		for _, want := range []string{":iam::aws:policy/AmazonSSMManagedInstanceCore", ":iam::aws:policy/EC2InstanceProfileForImageBuilder"} {
			if !strings.Contains(policies, want) {
				t.Errorf("ManagedPolicyArns got %s, want %s among them", policies, want)
			}
		}
		if n := strings.Count(policies, ":iam::aws:policy/"); n != 2 {
			t.Errorf("got %d managed policies, want exactly 2: %s", n, policies)
		}
		// The role reads the app binary from the assets bucket: that one
		// object, with s3:GetObject alone.
		var found bool
		for _, p := range ipResources(t, tmpl, "AWS::IAM::Policy") {
			s := compactJSON(t, p)
			if !strings.Contains(s, roleID) {
				continue
			}
			if strings.Contains(s, "s3:GetObject*") || strings.Contains(s, "s3:List") {
				t.Errorf("instance role policy grants more than s3:GetObject: %s", s)
			}
			if strings.Contains(s, `"s3:GetObject"`) && strings.Contains(s, "cdk-hnb659fds-assets-") {
				found = true
			}
		}
		if !found {
			t.Error("no policy lets the instance role read the app binary from the assets bucket")
		}
		check(t, "instance profile holds the role", func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::InstanceProfile"), map[string]any{"Roles": []any{ref(roleID)}})
		})
	})

	t.Run("distribution", func(t *testing.T) {
		ds, _ := dist["Distributions"].([]any)
		if len(ds) != 1 {
			t.Fatalf("Distributions got %v, want one (the stack's region)", dist["Distributions"])
		}
		d := ds[0].(map[string]any)
		if d["Region"] != "us-east-1" {
			t.Errorf("Region got %v, want us-east-1", d["Region"])
		}
		ami := d["AmiDistributionConfiguration"].(map[string]any)
		wantTags := map[string]any{FleetTagKey: "web", AppVersionTagKey: "1.2.3", "stampkit:baked-by": "imagebuilder"}
		if diff := cmp.Diff(wantTags, ami["AmiTags"]); diff != "" {
			t.Errorf("AmiTags (-want +got):\n%s", diff)
		}
		if name, _ := ami["Name"].(string); !strings.Contains(name, "{{ imagebuilder:buildDate }}") || !strings.HasPrefix(name, "stampkit-web-1.2.3-") {
			t.Errorf("AMI Name got %q, want stampkit-web-1.2.3-{{ imagebuilder:buildDate }}", name)
		}
	})

	t.Run("pipeline", func(t *testing.T) {
		want := map[string]any{
			"ImageRecipeArn":                 getAtt(recipeID, "Arn"),
			"InfrastructureConfigurationArn": getAtt(infraID, "Arn"),
			"DistributionConfigurationArn":   getAtt(distID, "Arn"),
			"Status":                         "ENABLED",
			"ImageTestsConfiguration":        map[string]any{"ImageTestsEnabled": true, "TimeoutMinutes": float64(60)},
			"Schedule":                       map[string]any{"ScheduleExpression": "cron(0 4 ? * mon *)", "PipelineExecutionStartCondition": "EXPRESSION_MATCH_ONLY"},
			"Tags":                           tags,
		}
		for k, v := range want {
			if d := cmp.Diff(v, pipeline[k]); d != "" {
				t.Errorf("%s (-want +got):\n%s", k, d)
			}
		}
		if got := stack.Resolve(ip.PipelineArn()); compactJSON(t, got) != compactJSON(t, getAtt(ipLogicalID(t, stack, ip.Pipeline().Ref()), "Arn")) {
			t.Errorf("PipelineArn resolves to %v, want the pipeline's Arn", got)
		}
	})

	t.Run("cdk-nag", func(t *testing.T) {
		var annotations assertions.Annotations
		check(t, "reading annotations", func() { annotations = assertions.Annotations_FromStack(stack) })
		nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, level := range []string{"error", "warning"} {
			var raw string
			check(t, "finding nag "+level+"s", func() {
				found := annotations.FindWarning(jsii.String("*"), nag)
				if level == "error" {
					found = annotations.FindError(jsii.String("*"), nag)
				}
				raw = compactJSON(t, found)
			})
			// cxapi.SynthesisMessage is deprecated in Go; read it as JSON.
			var findings []struct {
				ID    string `json:"id"`
				Entry struct {
					Data any `json:"data"`
				} `json:"entry"`
			}
			if err := json.Unmarshal([]byte(raw), &findings); err != nil {
				t.Fatalf("decoding %s annotations %s: %v", level, raw, err)
			}
			for _, f := range findings {
				t.Errorf("unsuppressed cdk-nag %s at %s: %v", level, f.ID, f.Entry.Data)
			}
		}
	})

	t.Run("cfn-lint", func(t *testing.T) { ipCfnLint(t, stack) })
}

// ipLogicalID resolves a Ref or GetAtt token to its resource's logical id.
func ipLogicalID(t *testing.T, stack awscdk.Stack, token *string) string {
	t.Helper()
	v, _ := stack.Resolve(token).(map[string]any)
	if id, ok := v["Ref"].(string); ok {
		return id
	}
	if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		if id, ok := ga[0].(string); ok {
			return id
		}
	}
	t.Fatalf("token %s resolves to %v, want a Ref or Fn::GetAtt", *token, v)
	return ""
}

// ipCfnLint lints one stack's template like TestCfnLint lints the app's.
func ipCfnLint(t *testing.T, stack awscdk.Stack) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("STAMPKIT_REQUIRE_CFNLINT") == "1" {
			t.Fatalf("cfn-lint not found and STAMPKIT_REQUIRE_CFNLINT=1: %v", err)
		}
		t.Skip("cfn-lint not installed")
	}
	path := filepath.Join(t.TempDir(), "template.json")
	var tmpl any
	check(t, "rendering the template", func() { tmpl = assertions.Template_FromStack(stack, nil).ToJSON() })
	if err := os.WriteFile(path, []byte(compactJSON(t, tmpl)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), bin, "--format", "parseable", "--", path).CombinedOutput()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running cfn-lint: %v", err)
	}
	// Exit bits: 1 linter failure, 2 error, 4 warning, 8 informational.
	if code&(1|2|4) != 0 {
		t.Fatalf("cfn-lint exit code %d; findings:\n%s", code, out)
	}
}

func TestImagePipelineWithoutScheduleOrVpc(t *testing.T) {
	_, _, tmpl := ipStack(t, func(p *ImagePipelineProps) {
		p.Schedule = ""
		p.Vpc = nil
	})
	_, pipeline := ipOnly(t, tmpl, "AWS::ImageBuilder::ImagePipeline")
	if s, ok := pipeline["Schedule"]; ok {
		t.Errorf("Schedule got %v, want none (builds start on demand)", s)
	}
	_, infra := ipOnly(t, tmpl, "AWS::ImageBuilder::InfrastructureConfiguration")
	for _, k := range []string{"SubnetId", "SecurityGroupIds"} {
		if v, ok := infra[k]; ok {
			t.Errorf("%s got %v, want none (the default VPC)", k, v)
		}
	}
	if n := len(ipResources(t, tmpl, "AWS::EC2::SecurityGroup")); n != 0 {
		t.Errorf("got %d security groups, want none without a Vpc", n)
	}
}

func TestNewImagePipelineRejectsBadProps(t *testing.T) {
	good := func() *ImagePipelineProps {
		return &ImagePipelineProps{Fleet: "web", AppVersion: "1.2.3", AppBinary: "/nonexistent/stampkit-app"}
	}
	tests := []struct {
		name   string
		mutate func(*ImagePipelineProps)
		want   string
	}{
		{"no fleet", func(p *ImagePipelineProps) { p.Fleet = "" }, "Fleet"},
		{"fleet with capitals", func(p *ImagePipelineProps) { p.Fleet = "Web" }, "Fleet"},
		{"version with a space", func(p *ImagePipelineProps) { p.AppVersion = "1.2 beta" }, "AppVersion"},
		{"no binary", func(p *ImagePipelineProps) { p.AppBinary = "" }, "AppBinary"},
		{"x86 build instance", func(p *ImagePipelineProps) { p.BuildInstanceType = "t3.small" }, "BuildInstanceType"},
		{"tiny root volume", func(p *ImagePipelineProps) { p.RootVolumeGiB = 4 }, "RootVolumeGiB"},
		{"rate schedule", func(p *ImagePipelineProps) { p.Schedule = "rate(1 day)" }, "Schedule"},
		{"parameter without slash", func(p *ImagePipelineProps) { p.ParentImageParameter = "al2023" }, "ParentImageParameter"},
		{"subnets without vpc", func(p *ImagePipelineProps) { p.Subnets = &awsec2.SubnetSelection{} }, "Subnets"},
		{"app port", func(p *ImagePipelineProps) { p.App.Port = 70000 }, "App.Port"},
		{"app health path", func(p *ImagePipelineProps) { p.App.HealthPath = "readyz" }, "App.HealthPath"},
		{"app log level", func(p *ImagePipelineProps) { p.App.LogLevel = "loud" }, "App.LogLevel"},
		{"cpu interval", func(p *ImagePipelineProps) { p.App.CPUInterval = 15 * time.Second }, "App.CPUInterval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("T"), nil)
			p := good()
			tc.mutate(p)
			err := try(func() { NewImagePipeline(stack, "P", p) })
			if err == nil {
				t.Fatalf("got no panic, want one naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want+":") {
				t.Errorf("panic: got %q, want it to name %s", err, tc.want)
			}
		})
	}
	t.Run("nil props", func(t *testing.T) {
		stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("T"), nil)
		if err := try(func() { NewImagePipeline(stack, "P", nil) }); err == nil {
			t.Error("got no panic for nil props, want one")
		}
	})
}

// ipAnsibleVars maps the role's variables to settings s, as the role would
// be run for the same fleet.
func ipAnsibleVars(stamp, fleet string, s AppSettings) map[string]string {
	secs := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	return map[string]string{
		"stampkit_app_stamp":                  stamp,
		"stampkit_app_fleet":                  fleet,
		"stampkit_app_user":                   s.User,
		"stampkit_app_port":                   strconv.Itoa(s.Port),
		"stampkit_app_health_path":            s.HealthPath,
		"stampkit_app_warmup":                 s.WarmUp.String(),
		"stampkit_app_drain_delay":            s.DrainDelay.String(),
		"stampkit_app_shutdown_timeout":       s.ShutdownTimeout.String(),
		"stampkit_app_stop_timeout":           strconv.Itoa(s.StopTimeout()),
		"stampkit_app_max_work":               s.MaxWork.String(),
		"stampkit_app_log_level":              s.LogLevel,
		"stampkit_app_log_group":              s.LogGroup,
		"stampkit_app_cpu_interval":           secs(s.CPUInterval),
		"stampkit_app_metrics_flush_interval": secs(s.MetricsFlush),
		"stampkit_app_metrics_interval":       secs(s.MetricsInterval),
	}
}

var ipJinjaVar = regexp.MustCompile(`\{\{\s*([a-z_]+)\s*\}\}`)

// ipRenderJinja substitutes {{ var }} in a template that uses nothing else
// of Jinja (the role's templates are kept that simple on purpose).
func ipRenderJinja(t *testing.T, name, text string, vars map[string]string) string {
	t.Helper()
	out := ipJinjaVar.ReplaceAllStringFunc(text, func(m string) string {
		name := ipJinjaVar.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			t.Errorf("%s: unknown variable %s", name, m)
		}
		return v
	})
	if strings.Contains(out, "{{") || strings.Contains(out, "{%") {
		t.Fatalf("%s: uses Jinja beyond {{ var }}; the parity test cannot render it", name)
	}
	return out
}

// ipSignificant drops comments and blank lines.
func ipSignificant(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimRight(l, " "); l != "" && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			out = append(out, l)
		}
	}
	return out
}

// ipRoleTemplates reads the role's template tasks: dest -> src and mode.
func ipRoleTemplates(t *testing.T) map[string][2]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(ipAnsibleRole, "tasks", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("reading the role's tasks: %v (%d files)", err, len(files))
	}
	field := func(block, key string) string {
		m := regexp.MustCompile(`(?m)^\s+` + key + `: "?([^"\n]+)"?$`).FindStringSubmatch(block)
		if m == nil {
			return ""
		}
		return m[1]
	}
	out := map[string][2]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(string(raw), "\n- name:") {
			if !strings.Contains(block, "ansible.builtin.template:") {
				continue
			}
			out[field(block, "dest")] = [2]string{field(block, "src"), field(block, "mode")}
		}
	}
	return out
}

// TestInstanceFilesMatchAnsibleRole keeps the two bakes alike: every file
// the component writes is what the role's template renders for the same
// settings, at the same path and mode.
func TestInstanceFilesMatchAnsibleRole(t *testing.T) {
	s := DefaultAppSettings(NamesOf(DefaultStampName), "api")
	s.User, s.Port, s.WarmUp, s.LogLevel, s.CPUInterval = "svc", 9090, 3*time.Second, "debug", 5*time.Second
	vars := ipAnsibleVars(DefaultStampName, "api", s)
	templates := ipRoleTemplates(t)
	files := InstanceFiles(s)
	if len(templates) != len(files) {
		t.Errorf("the role writes %d templates %v, the component %d files", len(templates), templates, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f.Path), func(t *testing.T) {
			tpl, ok := templates[f.Path]
			if !ok {
				t.Fatalf("the role has no template task with dest %s", f.Path)
			}
			if tpl[1] != f.Mode {
				t.Errorf("mode: role %s, component %s", tpl[1], f.Mode)
			}
			raw, err := os.ReadFile(filepath.Join(ipAnsibleRole, "templates", tpl[0]))
			if err != nil {
				t.Fatal(err)
			}
			rendered := ipRenderJinja(t, tpl[0], string(raw), vars)
			if strings.HasSuffix(f.Path, ".json") {
				var fromRole, fromComponent any
				if err := json.Unmarshal([]byte(rendered), &fromRole); err != nil {
					t.Fatalf("role's %s does not render to JSON: %v\n%s", tpl[0], err, rendered)
				}
				if err := json.Unmarshal([]byte(f.Content), &fromComponent); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(fromRole, fromComponent); d != "" {
					t.Errorf("%s (-role +component):\n%s", f.Path, d)
				}
				return
			}
			if d := cmp.Diff(ipSignificant(rendered), ipSignificant(f.Content)); d != "" {
				t.Errorf("%s (-role +component):\n%s", f.Path, d)
			}
		})
	}
}

// TestAppSettingsMatchAnsibleDefaults checks the role's defaults against
// DefaultAppSettings, the two places a default could drift apart.
func TestAppSettingsMatchAnsibleDefaults(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(ipAnsibleRole, "defaults", "main.yml"))
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(stampkit_app_[a-z_]+): (.+)$`).FindAllStringSubmatch(string(raw), -1) {
		defaults[m[1]] = strings.Trim(m[2], `"`)
	}
	stamp, fleet := defaults["stampkit_app_stamp"], defaults["stampkit_app_fleet"]
	if fleet == "" || stamp != DefaultStampName {
		t.Fatalf("defaults/main.yml sets stampkit_app_stamp %q and stampkit_app_fleet %q, want %q and a fleet", stamp, fleet, DefaultStampName)
	}
	names := NamesOf(stamp)
	want := ipAnsibleVars(stamp, fleet, DefaultAppSettings(names, fleet))
	for name, w := range want {
		got, ok := defaults[name]
		if !ok {
			t.Errorf("defaults/main.yml has no %s (want %s)", name, w)
			continue
		}
		if got = ipRenderJinja(t, name, got, map[string]string{"stampkit_app_stamp": stamp, "stampkit_app_fleet": fleet}); got != w {
			t.Errorf("%s: role default %s, DefaultAppSettings %s", name, got, w)
		}
	}
	// The CPU metric the scaling policy reads is published at 10 s.
	if s := DefaultAppSettings(names, fleet); s.CPUInterval != 10*time.Second || s.Port != 8080 || s.HealthPath != "/readyz" {
		t.Errorf("DefaultAppSettings got cpu %s, port %d, health %s; want 10s, 8080, /readyz (cdk.json, shared/scaling)",
			s.CPUInterval, s.Port, s.HealthPath)
	}
}

// TestAgentConfigFeedsTheScalingPolicy checks the agent publishes the
// series shared/scaling.DefaultPolicy's CPU alarms read.
func TestAgentConfigFeedsTheScalingPolicy(t *testing.T) {
	var doc struct {
		Metrics struct {
			Namespace            string            `json:"namespace"`
			AggregationDimension [][]string        `json:"aggregation_dimensions"`
			AppendDimensions     map[string]string `json:"append_dimensions"`
			FlushInterval        int               `json:"force_flush_interval"`
			Collected            map[string]struct {
				Measurement []string `json:"measurement"`
				Interval    int      `json:"metrics_collection_interval"`
				TotalCPU    bool     `json:"totalcpu"`
			} `json:"metrics_collected"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal([]byte(imageAgentConfig(DefaultAppSettings(NamesOf(DefaultStampName), "web"))), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Metrics
	cpu := m.Collected["cpu"]
	switch {
	case m.Namespace != "CWAgent":
		t.Errorf("namespace got %q, want CWAgent", m.Namespace)
	case len(cpu.Measurement) != 1 || cpu.Measurement[0] != "cpu_usage_active" || !cpu.TotalCPU:
		t.Errorf("cpu got %+v, want cpu_usage_active of the total CPU", cpu)
	case cpu.Interval != 10:
		t.Errorf("cpu interval got %d, want 10 (the high-resolution alarm's period)", cpu.Interval)
	case m.FlushInterval > 10:
		t.Errorf("force_flush_interval got %d, want at most 10 so that 10 s datapoints arrive in time", m.FlushInterval)
	case m.AppendDimensions["AutoScalingGroupName"] != "${aws:AutoScalingGroupName}":
		t.Errorf("append_dimensions got %v, want AutoScalingGroupName", m.AppendDimensions)
	}
	if d := cmp.Diff([][]string{{"AutoScalingGroupName"}}, m.AggregationDimension); d != "" {
		t.Errorf("aggregation_dimensions (-want +got):\n%s", d)
	}
}

var ipWriteCommand = regexp.MustCompile(`echo (\S+) \| base64 -d \| install -D -m (\d+) -o (\S+) -g (\S+) /dev/stdin ([^\s"]+)`)

// TestComponentDocument checks the document's files, its size, and, with
// python3 and PyYAML (Ansible's dependencies), that it is YAML of the
// AWSTOE shape whose scripts bash can parse.
func TestComponentDocument(t *testing.T) {
	s := DefaultAppSettings(NamesOf(DefaultStampName), "web")
	files := InstanceFiles(s)
	doc := ComponentDocument(s, files, "s3://bucket/key.bin", "111111111111")
	if len(doc)+256 > maxComponentData {
		t.Errorf("document is %d characters, too close to Image Builder's %d", len(doc), maxComponentData)
	}
	if strings.Count(doc, "{{") > 0 {
		t.Error("document contains {{, which AWSTOE would read as a variable")
	}
	written := map[string]InstanceFile{}
	for _, m := range ipWriteCommand.FindAllStringSubmatch(strings.ReplaceAll(doc, `\n`, "\n"), -1) {
		content, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("decoding %s: %v", m[5], err)
		}
		written[m[5]] = InstanceFile{Path: m[5], Owner: m[3], Group: m[4], Mode: m[2], Content: string(content)}
	}
	for _, f := range files {
		if d := cmp.Diff(f, written[f.Path]); d != "" {
			t.Errorf("file %s as the component writes it (-want +got):\n%s", f.Path, d)
		}
	}

	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: YAML shape not checked")
	}
	const parse = `import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))`
	cmd := exec.CommandContext(t.Context(), py, "-c", parse)
	cmd.Stdin = strings.NewReader(doc)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("python3 with PyYAML not available (%v): YAML shape not checked", err)
	}
	var parsed struct {
		Name, SchemaVersion string
		Phases              []struct {
			Name  string
			Steps []struct {
				Name, Action, OnFailure string
				Inputs                  json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatalf("decoding the YAML as the document shape: %v\n%s", err, out)
	}
	var phases []string
	for _, ph := range parsed.Phases {
		phases = append(phases, ph.Name)
		for _, st := range ph.Steps {
			switch st.Action {
			case "ExecuteBash":
				var in struct{ Commands []string }
				if err := json.Unmarshal(st.Inputs, &in); err != nil || len(in.Commands) == 0 {
					t.Fatalf("%s/%s: inputs %s are not commands", ph.Name, st.Name, st.Inputs)
				}
				for _, c := range in.Commands {
					check := exec.CommandContext(t.Context(), "bash", "-n")
					check.Stdin = strings.NewReader(c)
					if msg, err := check.CombinedOutput(); err != nil {
						t.Errorf("%s/%s: bash -n: %v %s\n%s", ph.Name, st.Name, err, msg, c)
					}
				}
			case "S3Download":
				var in []map[string]string
				if err := json.Unmarshal(st.Inputs, &in); err != nil {
					t.Fatal(err)
				}
				want := []map[string]string{{"source": "s3://bucket/key.bin", "destination": "/tmp/stampkit-app", "expectedBucketOwner": "111111111111"}}
				if d := cmp.Diff(want, in); d != "" {
					t.Errorf("S3Download inputs (-want +got):\n%s", d)
				}
			default:
				t.Errorf("%s/%s: unexpected action %s", ph.Name, st.Name, st.Action)
			}
			if st.OnFailure != "Abort" {
				t.Errorf("%s/%s: onFailure got %q, want Abort", ph.Name, st.Name, st.OnFailure)
			}
		}
	}
	if d := cmp.Diff([]string{"build", "validate", "test"}, phases); d != "" || parsed.SchemaVersion != "1.0" {
		t.Errorf("phases (-want +got):\n%s\nschemaVersion %q", d, parsed.SchemaVersion)
	}
}

// TestImagePipelineNamesFollowContent: components and recipes are
// immutable in Image Builder, so their names must change exactly when
// their content does, or an update fails (same name, new content) or
// replaces them for nothing.
func TestImagePipelineNamesFollowContent(t *testing.T) {
	names := func(mutate func(*ImagePipelineProps)) (component, recipe string) {
		_, _, tmpl := ipStack(t, mutate)
		_, c := ipOnly(t, tmpl, "AWS::ImageBuilder::Component")
		_, r := ipOnly(t, tmpl, "AWS::ImageBuilder::ImageRecipe")
		return c["Name"].(string), r["Name"].(string)
	}
	baseC, baseR := names(nil)
	tests := []struct {
		name                            string
		mutate                          func(*ImagePipelineProps)
		wantNewComponent, wantNewRecipe bool
	}{
		{"same props", nil, false, false},
		{"schedule only", func(p *ImagePipelineProps) { p.Schedule = "" }, false, false},
		{"app version", func(p *ImagePipelineProps) { p.AppVersion = "1.2.4" }, true, true},
		{"app setting", func(p *ImagePipelineProps) { p.App.WarmUp = 30 * time.Second }, true, true},
		{"root volume", func(p *ImagePipelineProps) { p.RootVolumeGiB = 20 }, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, r := names(tc.mutate)
			if got := c != baseC; got != tc.wantNewComponent {
				t.Errorf("component name %s -> %s: changed %v, want %v", baseC, c, got, tc.wantNewComponent)
			}
			if got := r != baseR; got != tc.wantNewRecipe {
				t.Errorf("recipe name %s -> %s: changed %v, want %v", baseR, r, got, tc.wantNewRecipe)
			}
		})
	}
}

// agentConfigPath is where the image's CloudWatch agent reads its
// configuration.
const agentConfigPath = "/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json"

// bakedDocument returns the component document of a fleet's image in the
// shared fixture, with each token (the binary's URL, the account) as
// "TOKEN".
func bakedDocument(t *testing.T, f *fixture, fleet string) string {
	t.Helper()
	for _, mf := range f.stack.Fleets() {
		if mf.Fleet.Name() != fleet {
			continue
		}
		if mf.Image == nil {
			t.Fatalf("fleet %s has no image pipeline", fleet)
		}
		id := *f.stack.Stack().GetLogicalId(mf.Image.Component())
		var b strings.Builder
		var flatten func(v any)
		flatten = func(v any) {
			switch v := v.(type) {
			case string:
				b.WriteString(v)
			case map[string]any:
				if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
					for _, part := range asList(join[1]) {
						flatten(part)
					}
					return
				}
				b.WriteString("TOKEN")
			default:
				t.Fatalf("component %s Data: unexpected %T %v", id, v, v)
			}
		}
		flatten(props(f.resources[id])["Data"])
		return b.String()
	}
	t.Fatalf("no fleet %s in the test app", fleet)
	return ""
}

// bakedFiles returns the files a fleet's image writes, by path.
func bakedFiles(t *testing.T, f *fixture, fleet string) map[string]string {
	t.Helper()
	out := map[string]string{}
	doc := strings.ReplaceAll(bakedDocument(t, f, fleet), `\n`, "\n")
	for _, m := range ipWriteCommand.FindAllStringSubmatch(doc, -1) {
		content, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatalf("decoding %s: %v", m[5], err)
		}
		out[m[5]] = string(content)
	}
	return out
}

// TestImagesBakeTheFleetsApp: each fleet's image runs the app on the port,
// and waits for it on the health check path, that the fleet's target groups
// check, and ships its log to the fleet's group.
func TestImagesBakeTheFleetsApp(t *testing.T) {
	f := synth(t)
	nonDefault := false
	for _, fc := range f.cfg.Fleets {
		d := DefaultAppSettings(f.cfg.Names(), fc.Name)
		nonDefault = nonDefault || (fc.AppPort != d.Port && fc.HealthCheckPath != d.HealthPath)
		t.Run(fc.Name, func(t *testing.T) {
			want := d
			want.Port, want.HealthPath, want.LogGroup = fc.AppPort, fc.HealthCheckPath, f.cfg.Names().AppLogGroup(fc.Name)
			got := bakedFiles(t, f, fc.Name)
			for _, file := range InstanceFiles(want) {
				if diff := cmp.Diff(file.Content, got[file.Path]); diff != "" {
					t.Errorf("%s as the image writes it (-want +got):\n%s", file.Path, diff)
				}
			}
			if url := "http://127.0.0.1:" + strconv.Itoa(fc.AppPort) + fc.HealthCheckPath; !strings.Contains(bakedDocument(t, f, fc.Name), url) {
				t.Errorf("the image's smoke tests do not wait on %s", url)
			}
		})
	}
	if !nonDefault {
		t.Error("no test fleet has both another appPort and another healthCheckPath than the image's defaults")
	}
}
