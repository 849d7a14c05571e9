// Package sqsqueue schedules stampkit's durable wake-ups on an SQS queue:
// a delayed message carrying a stampkit Tick event, delivered back to the
// function that waits. A Lambda never sleeps through a wait; it asks to be
// woken and returns.
package sqsqueue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/stampkit/stampkit/shared/clock"
	"github.com/stampkit/stampkit/shared/event"
)

// MaxDelay is the longest delay SQS gives one message. A later wake-up
// arrives early, and the receiver sends it on again with the same due time:
// waits longer than this chain.
const MaxDelay = 900 * time.Second

// API is the subset of *sqs.Client the scheduler calls.
type API interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ API = (*sqs.Client)(nil)

// Scheduler sends wake-ups to one queue.
type Scheduler struct {
	api   API
	queue string
	clock clock.Clock
}

// New returns a Scheduler sending to the queue at queueURL; c tells the
// time the delay is counted from.
func New(api API, queueURL string, c clock.Clock) *Scheduler {
	return &Scheduler{api: api, queue: queueURL, clock: c}
}

// WakeAt sends a Tick for key due at at. The message is delayed until at,
// or by MaxDelay when at is further away; the Tick always carries at, so
// the receiver can tell an early, chained delivery from a due one.
func (s *Scheduler) WakeAt(ctx context.Context, key string, at time.Time) error {
	now := s.clock.Now()
	body, err := TickBody(key, at, now)
	if err != nil {
		return err
	}
	_, err = s.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(s.queue),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: Delay(at, now),
	})
	if err != nil {
		return fmt.Errorf("scheduling wake-up %s at %s: %w", key, at.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// Delay is the SQS DelaySeconds for a wake-up due at at, sent at now:
// whole seconds rounded up (never early by a fraction), from 0 to
// MaxDelay.
func Delay(at, now time.Time) int32 {
	d := at.Sub(now)
	if d <= 0 {
		return 0
	}
	if d >= MaxDelay {
		return int32(MaxDelay / time.Second)
	}
	return int32((d + time.Second - 1) / time.Second)
}

// TickBody is the EventBridge-shaped stampkit Tick that event.Decode reads
// back: source "stampkit", detail-type "Tick", detail {"at", "key"}. Its id
// is derived from key and at, so a re-sent wake-up has the same id.
func TickBody(key string, at, now time.Time) ([]byte, error) {
	sum := sha256.Sum256([]byte(key + "@" + at.UTC().Format(time.RFC3339Nano)))
	id := hex.EncodeToString(sum[:16])
	body, err := json.Marshal(map[string]any{
		"version":     "0",
		"id":          id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:],
		"source":      event.SourceStampkit,
		"detail-type": event.DetailTypeTick,
		"account":     "",
		"region":      "",
		"time":        now.UTC().Format(time.RFC3339Nano),
		"resources":   []string{},
		"detail":      map[string]string{"at": at.UTC().Format(time.RFC3339Nano), "key": key},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding wake-up %s: %w", key, err)
	}
	return body, nil
}
