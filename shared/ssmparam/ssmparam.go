// Package ssmparam adapts SSM Parameter Store to the two calls stampkit makes:
// reading a parameter and overwriting it. The image pipeline publishes the
// current AMI ID as a parameter that launch templates and CDK resolve.
package ssmparam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/stampkit/stampkit/shared/awserr"
)

// API is the subset of *ssm.Client the adapter calls.
type API interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

var _ API = (*ssm.Client)(nil)

// ErrNotFound reports a parameter that does not exist.
var ErrNotFound = errors.New("parameter not found")

// Parameter data types.
const (
	dataTypeText  = "text"
	dataTypeImage = "aws:ec2:image"
)

// Adapter calls SSM through an API.
type Adapter struct {
	api API
}

// New returns an Adapter over api, normally an *ssm.Client.
func New(api API) *Adapter {
	return &Adapter{api: api}
}

// Get returns a parameter's value, decrypted if it is a SecureString. A
// missing parameter is ErrNotFound.
func (a *Adapter) Get(ctx context.Context, name string) (string, error) {
	out, err := a.api.GetParameter(ctx, &ssm.GetParameterInput{
		Name:           aws.String(name),
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		if awserr.IsNotFound(err) {
			return "", fmt.Errorf("getting parameter %s: %w: %w", name, ErrNotFound, err)
		}
		return "", fmt.Errorf("getting parameter %s: %w", name, err)
	}
	if out.Parameter == nil {
		return "", fmt.Errorf("getting parameter %s: %w", name, ErrNotFound)
	}
	return aws.ToString(out.Parameter.Value), nil
}

// Put creates or overwrites a plain String parameter.
func (a *Adapter) Put(ctx context.Context, name, value string) error {
	if err := a.put(ctx, name, value, dataTypeText); err != nil {
		return fmt.Errorf("putting parameter %s: %w", name, err)
	}
	return nil
}

// PutImage creates or overwrites a parameter holding an AMI ID with data type
// aws:ec2:image, so that EC2 accepts it as "resolve:ssm:<name>" in a launch
// template and SSM checks the ID. SSM validates the AMI asynchronously: a Get
// straight after may still return the previous value, and an invalid ID never
// becomes current. Where the data type is not supported (SSM answers a
// validation error naming it) PutImage falls back to a text parameter, which
// resolves the same way but is not checked.
func (a *Adapter) PutImage(ctx context.Context, name, amiID string) error {
	err := a.put(ctx, name, amiID, dataTypeImage)
	if err != nil && unsupportedDataType(err) {
		err = a.put(ctx, name, amiID, dataTypeText)
	}
	if err != nil {
		return fmt.Errorf("putting image parameter %s: %w", name, err)
	}
	return nil
}

func (a *Adapter) put(ctx context.Context, name, value, dataType string) error {
	_, err := a.api.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(name),
		Value:     aws.String(value),
		Type:      types.ParameterTypeString,
		DataType:  aws.String(dataType),
		Overwrite: aws.Bool(true),
	})
	return err
}

// unsupportedDataType recognises SSM's answer to a data type it does not know:
// "ValidationException: The following data type is not supported: …".
func unsupportedDataType(err error) bool {
	return awserr.Code(err) == "ValidationException" &&
		strings.Contains(strings.ToLower(err.Error()), "data type")
}

// Regions reads parameters in any Region, through one Adapter per Region
// made on first use: a stamp reads the wave parameter of the stamp before
// it, which may live in another Region of the same account.
type Regions struct {
	newAPI func(region string) API

	mu       sync.Mutex
	adapters map[string]*Adapter
}

// NewRegions returns Regions whose clients newAPI makes, normally an
// *ssm.Client with its Region option set.
func NewRegions(newAPI func(region string) API) *Regions {
	return &Regions{newAPI: newAPI, adapters: map[string]*Adapter{}}
}

// Get returns a parameter's value in region, as Adapter.Get does.
func (r *Regions) Get(ctx context.Context, region, name string) (string, error) {
	r.mu.Lock()
	a, ok := r.adapters[region]
	if !ok {
		a = New(r.newAPI(region))
		r.adapters[region] = a
	}
	r.mu.Unlock()
	return a.Get(ctx, name)
}
