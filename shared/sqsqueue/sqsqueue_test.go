package sqsqueue_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/stampkit/stampkit/shared/awstest"
	"github.com/stampkit/stampkit/shared/event"
	"github.com/stampkit/stampkit/shared/sqsqueue"
)

var emu = awstest.New()

func TestMain(m *testing.M) { os.Exit(emu.Run(m)) }

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type fixed time.Time

func (f fixed) Now() time.Time { return time.Time(f) }

func TestDelay(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want int32
	}{
		{name: "past", at: t0.Add(-time.Minute), want: 0},
		{name: "now", at: t0, want: 0},
		{name: "a fraction rounds up, never early", at: t0.Add(1500 * time.Millisecond), want: 2},
		{name: "whole seconds", at: t0.Add(10 * time.Second), want: 10},
		{name: "the longest delay", at: t0.Add(15 * time.Minute), want: 900},
		{name: "beyond: capped, the wait chains", at: t0.Add(3 * time.Hour), want: 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sqsqueue.Delay(tt.at, t0); got != tt.want {
				t.Errorf("Delay: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestTickBodyDecodes(t *testing.T) {
	at := t0.Add(90*time.Second + 123*time.Nanosecond)
	body, err := sqsqueue.TickBody("lifecycle#tok-1", at, t0)
	if err != nil {
		t.Fatalf("TickBody: %v", err)
	}
	evs, err := event.Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	tick, ok := evs[0].Detail.(*event.Tick)
	if !ok {
		t.Fatalf("Detail: got %T, want *event.Tick", evs[0].Detail)
	}
	if tick.Key != "lifecycle#tok-1" || !tick.At.Equal(at) {
		t.Errorf("Tick: got key %q at %v, want lifecycle#tok-1 at %v (to the nanosecond)", tick.Key, tick.At, at)
	}
	if evs[0].Source != event.SourceStampkit || !evs[0].Time.Equal(t0) || evs[0].ID == "" {
		t.Errorf("envelope: got source %q time %v id %q", evs[0].Source, evs[0].Time, evs[0].ID)
	}
	again, _ := sqsqueue.TickBody("lifecycle#tok-1", at, t0.Add(time.Minute))
	other, _ := sqsqueue.TickBody("lifecycle#tok-2", at, t0)
	if id := eventID(t, again); id != evs[0].ID {
		t.Errorf("a re-sent wake-up got id %s, want the same id %s", id, evs[0].ID)
	}
	if id := eventID(t, other); id == evs[0].ID {
		t.Errorf("wake-ups of two actions share id %s", id)
	}
}

func eventID(t *testing.T, body []byte) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body: %v", err)
	}
	return v.ID
}

func TestWakeAtStub(t *testing.T) {
	stub := awstest.NewStub().On("SendMessage", &sqs.SendMessageOutput{MessageId: aws.String("m-1")})
	s := sqsqueue.New(sqs.NewFromConfig(stub.Config()), "https://sqs.us-east-1.amazonaws.com/1/wake", fixed(t0))
	at := t0.Add(2 * time.Hour)
	if err := s.WakeAt(t.Context(), "lifecycle#tok-1", at); err != nil {
		t.Fatalf("WakeAt: %v", err)
	}
	body, _ := sqsqueue.TickBody("lifecycle#tok-1", at, t0)
	want := &sqs.SendMessageInput{
		QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/1/wake"), MessageBody: aws.String(string(body)), DelaySeconds: 900,
	}
	if diff := awstest.Diff(want, stub.Calls()[0].Input); diff != "" {
		t.Errorf("input (-want +got):\n%s", diff)
	}
}

// TestWakeAtEmulator proves the wake-up path on the emulator's SQS: the
// message stays invisible for its delay, then carries the Tick back.
func TestWakeAtEmulator(t *testing.T) {
	cfg := emu.Fresh(t)
	client := sqs.NewFromConfig(cfg)
	q, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("stampkit-wake")})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	start := time.Now()
	at := start.Add(2 * time.Second)
	s := sqsqueue.New(client, aws.ToString(q.QueueUrl), fixed(start))
	if err := s.WakeAt(t.Context(), "lifecycle#tok-1", at); err != nil {
		t.Fatalf("WakeAt: %v", err)
	}
	early, err := client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(early.Messages) != 0 {
		t.Fatalf("received %d messages before the delay, want none", len(early.Messages))
	}
	var got []string
	for deadline := time.Now().Add(20 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		out, err := client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
		}
	}
	arrived := time.Since(start)
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	if arrived < 2*time.Second {
		t.Errorf("message visible after %v, want at least the 2 s delay", arrived)
	}
	evs, err := event.Decode([]byte(got[0]))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	tick := evs[0].Detail.(*event.Tick)
	if diff := cmp.Diff([]any{"lifecycle#tok-1", true}, []any{tick.Key, tick.At.Equal(at)}); diff != "" {
		t.Errorf("tick (-want +got):\n%s", diff)
	}

	// The emulator enforces SQS's limit, which is why Delay caps at 900.
	_, err = client.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("{}"), DelaySeconds: 901})
	if err == nil {
		t.Error("SendMessage with DelaySeconds 901: got no error, want SQS's limit enforced")
	}
}
