package ssmparam_test

import (
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/ssmparam"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

func TestPutGetEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	a := ssmparam.New(ssm.NewFromConfig(cfg))
	ctx := t.Context()

	if _, err := a.Get(ctx, "/stampkit/web/ami"); !errors.Is(err, ssmparam.ErrNotFound) {
		t.Errorf("Get(missing): got %v, want ssmparam.ErrNotFound", err)
	}
	for _, v := range []string{"first", "second"} {
		if err := a.Put(ctx, "/stampkit/web/mode", v); err != nil {
			t.Fatalf("Put(%q): %v", v, err)
		}
		got, err := a.Get(ctx, "/stampkit/web/mode")
		if err != nil || got != v {
			t.Errorf("Get after Put(%q): got %q, %v, want %q", v, got, err, v)
		}
	}
}

func TestPutImageEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	client := ssm.NewFromConfig(cfg)
	a := ssmparam.New(client)
	ctx := t.Context()

	// moto accepts the aws:ec2:image data type but, unlike SSM, neither checks
	// that the AMI exists nor delays the new value (GAPS.md).
	for _, ami := range []string{"ami-0aaaaaaaaaaaaaaaa", "ami-0bbbbbbbbbbbbbbbb"} {
		if err := a.PutImage(ctx, "/stampkit/web/ami", ami); err != nil {
			t.Fatalf("PutImage(%s): %v", ami, err)
		}
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/stampkit/web/ami")})
		if err != nil {
			t.Fatalf("GetParameter: %v", err)
		}
		if got := aws.ToString(out.Parameter.Value); got != ami {
			t.Errorf("value: got %q, want %q", got, ami)
		}
		if got := aws.ToString(out.Parameter.DataType); got != "aws:ec2:image" {
			t.Errorf("data type: got %q, want %q", got, "aws:ec2:image")
		}
	}
}

func TestRequests(t *testing.T) {
	stub := awstest.NewStub().
		On("PutParameter", &ssm.PutParameterOutput{Version: 2}).
		On("GetParameter", &ssm.GetParameterOutput{Parameter: &types.Parameter{Value: aws.String("v")}})
	a := ssmparam.New(ssm.NewFromConfig(stub.Config()))
	if err := a.Put(t.Context(), "/p", "v"); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := a.PutImage(t.Context(), "/ami", "ami-1"); err != nil {
		t.Fatalf("PutImage: %v", err)
	}
	if _, err := a.Get(t.Context(), "/p"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	want := []any{
		&ssm.PutParameterInput{Name: aws.String("/p"), Value: aws.String("v"), Type: types.ParameterTypeString, DataType: aws.String("text"), Overwrite: aws.Bool(true)},
		&ssm.PutParameterInput{Name: aws.String("/ami"), Value: aws.String("ami-1"), Type: types.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true)},
		&ssm.GetParameterInput{Name: aws.String("/p"), WithDecryption: aws.Bool(true)},
	}
	var got []any
	for _, c := range stub.Calls() {
		got = append(got, c.Input)
	}
	if diff := awstest.Diff(want, got); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
}

// TestPutImageFallback covers an SSM that rejects aws:ec2:image, which
// neither moto nor any current region does.
func TestPutImageFallback(t *testing.T) {
	cases := []struct {
		name      string
		firstErr  error
		wantTypes []string
		wantErr   bool
	}{
		{
			name:      "unsupported data type falls back to text",
			firstErr:  &smithy.GenericAPIError{Code: "ValidationException", Message: "The following data type is not supported: aws:ec2:image (Data type names are all lowercase.)"},
			wantTypes: []string{"aws:ec2:image", "text"},
		},
		{
			name:      "other validation errors do not",
			firstErr:  &smithy.GenericAPIError{Code: "ValidationException", Message: "Parameter name: can't be prefixed with \"aws\""},
			wantTypes: []string{"aws:ec2:image"},
			wantErr:   true,
		},
		{
			name:      "throttling does not",
			firstErr:  &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
			wantTypes: []string{"aws:ec2:image"},
			wantErr:   true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stub := awstest.NewStub().On("PutParameter", func(in any) (any, error) {
				if aws.ToString(in.(*ssm.PutParameterInput).DataType) == "aws:ec2:image" {
					return nil, tc.firstErr
				}
				return &ssm.PutParameterOutput{Version: 1}, nil
			})
			err := ssmparam.New(ssm.NewFromConfig(stub.Config())).PutImage(t.Context(), "/ami", "ami-1")
			if (err != nil) != tc.wantErr {
				t.Errorf("PutImage: got error %v, want error %v", err, tc.wantErr)
			}
			var gotTypes []string
			for _, c := range stub.Calls() {
				gotTypes = append(gotTypes, aws.ToString(c.Input.(*ssm.PutParameterInput).DataType))
			}
			if diff := awstest.Diff(tc.wantTypes, gotTypes); diff != "" {
				t.Errorf("data types sent (-want +got):\n%s", diff)
			}
		})
	}
}
