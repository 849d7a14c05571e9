// Package browsertest loads pages in a real headless Chromium for tests:
// what the page logged as an error, what a script evaluates to in it, and
// a screenshot. It speaks the DevTools protocol over the pipe Chromium
// opens with --remote-debugging-pipe (NUL-separated JSON on file
// descriptors 3 and 4), so it needs no websocket client and no dependency.
//
// Tests skip under -short or when Chromium is not installed, unless
// STAMPKIT_REQUIRE_BROWSER=1 (CI sets it), in which case they fail: a CI
// run that silently skipped the browser would prove nothing.
package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing browser from
// a skip into a failure.
const RequireEnv = "STAMPKIT_REQUIRE_BROWSER"

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// flags start Chromium headless as root on a machine with no network to
// reach: without the background-networking ones it tries, and fails, to
// reach Google's services at every start.
func flags(profile string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
		"--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank",
	}
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	toIn   io.WriteCloser // Chromium reads its commands from this pipe
	exited chan struct{}

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan reply
	pages   map[string]*Page // by DevTools session
	readErr error
}

type reply struct {
	Result json.RawMessage
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
}

// message is anything Chromium sends: a reply (ID set) or an event.
type message struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
	reply
}

// Start starts Chromium for t and stops it when t ends. It skips t under
// -short or when Chromium is not installed (fails instead when RequireEnv
// is "1").
func Start(t testing.TB) *Browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat(Path); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("headless Chromium required (%s=1) but not at %s: %v (apt-get install chromium)", RequireEnv, Path, err)
		}
		t.Skipf("headless Chromium not at %s, skipping (apt-get install chromium; set %s=1 to fail instead)", Path, RequireEnv)
	}
	b, err := start(t.TempDir())
	if err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("stopping Chromium: %v", err)
		}
		if t.Failed() {
			t.Logf("Chromium's stderr:\n%s", b.Stderr())
		}
	})
	return b
}

func start(profile string) (*Browser, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("making the command pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("making the reply pipe: %w", err), inR.Close(), inW.Close())
	}
	b := &Browser{toIn: inW, exited: make(chan struct{}), waiting: map[int]chan reply{}, pages: map[string]*Page{}}
	b.cmd = exec.Command(Path, flags(profile)...)
	b.cmd.Stderr = &b.stderr
	b.cmd.ExtraFiles = []*os.File{inR, outW} // descriptors 3 and 4
	err = b.cmd.Start()
	// Chromium holds its own copies now.
	inR.Close()
	outW.Close()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("running %s: %w", Path, err), inW.Close(), outR.Close())
	}
	go func() {
		b.read(outR)
		outR.Close()
	}()
	go func() {
		b.cmd.Wait()
		close(b.exited)
	}()
	return b, nil
}

// read hands each message to whoever waits for it, until the pipe closes.
func (b *Browser) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = fmt.Errorf("reading from Chromium: %w", err)
			for id, ch := range b.waiting {
				close(ch)
				delete(b.waiting, id)
			}
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch, ok := b.waiting[m.ID]; ok {
				ch <- m.reply
				delete(b.waiting, m.ID)
			}
		} else if p := b.pages[m.SessionID]; p != nil {
			p.event(m.Method, m.Params)
		}
		b.mu.Unlock()
	}
}

// call sends a command (to a page's session, when session is set) and
// decodes its result into out, if not nil.
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	if b.readErr != nil {
		b.mu.Unlock()
		return b.readErr
	}
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", method, err)
	}
	if _, err := b.toIn.Write(append(raw, 0)); err != nil {
		return fmt.Errorf("sending %s: %w", method, err)
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", method, ctx.Err())
	case r, ok := <-ch:
		switch {
		case !ok:
			return fmt.Errorf("%s: Chromium closed the pipe", method)
		case r.Error != nil:
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		case out != nil:
			if err := json.Unmarshal(r.Result, out); err != nil {
				return fmt.Errorf("decoding the result of %s: %w", method, err)
			}
		}
		return nil
	}
}

// Stderr is what Chromium wrote to its standard error; it waits for
// Chromium to have exited (Close).
func (b *Browser) Stderr() string {
	<-b.exited
	return b.stderr.String()
}

// Close asks Chromium to quit and, if it has not within ten seconds,
// kills it.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.call(ctx, "", "Browser.close", struct{}{}, nil)
	b.toIn.Close()
	select {
	case <-b.exited:
		return nil
	case <-ctx.Done():
		if err := b.cmd.Process.Kill(); err != nil {
			return fmt.Errorf("killing Chromium: %w", err)
		}
		<-b.exited
		return errors.New("chromium did not quit within 10 s; killed")
	}
}

// Page is a tab that has loaded a page.
type Page struct {
	b       *Browser
	session string
	loaded  chan struct{}
	once    sync.Once
	errs    []string // guarded by b.mu
}

// Open opens url in a new tab of a width×height window and waits until
// it has loaded (its load event fired).
func (b *Browser) Open(ctx context.Context, url string, width, height int) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: attached.SessionID, loaded: make(chan struct{})}
	b.mu.Lock()
	b.pages[p.session] = p
	b.mu.Unlock()
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		if err := b.call(ctx, p.session, m, struct{}{}, nil); err != nil {
			return nil, err
		}
	}
	metrics := map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}
	if err := b.call(ctx, p.session, "Emulation.setDeviceMetricsOverride", metrics, nil); err != nil {
		return nil, err
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return nil, err
	}
	if nav.ErrorText != "" {
		return nil, fmt.Errorf("loading %s: %s", url, nav.ErrorText)
	}
	select {
	case <-p.loaded:
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for %s to load: %w", url, ctx.Err())
	}
}

// event records what the page reports; b.mu is held.
func (p *Page) event(method string, params json.RawMessage) {
	switch method {
	case "Page.loadEventFired":
		p.once.Do(func() { close(p.loaded) })
	case "Runtime.exceptionThrown":
		var e struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		json.Unmarshal(params, &e)
		p.errs = append(p.errs, strings.TrimSpace("uncaught: "+e.Details.Text+" "+e.Details.Exception.Description))
	case "Runtime.consoleAPICalled":
		var e struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		json.Unmarshal(params, &e)
		if e.Type != "error" && e.Type != "assert" {
			return
		}
		var parts []string
		for _, a := range e.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		p.errs = append(p.errs, "console."+e.Type+": "+strings.Join(parts, " "))
	case "Log.entryAdded":
		var e struct {
			Entry struct {
				Level, Source, Text, URL string
			} `json:"entry"`
		}
		json.Unmarshal(params, &e)
		if e.Entry.Level == "error" {
			p.errs = append(p.errs, fmt.Sprintf("%s error: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	}
}

// Errors lists what the page reported as errors so far: uncaught
// exceptions, console.error and console.assert calls, and the browser's
// own error log entries (a resource that failed to load, a blocked
// request).
func (p *Page) Errors() []string {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	return append([]string(nil), p.errs...)
}

// Eval evaluates expr in the page, awaiting it if it is a promise, and
// decodes its JSON value into out.
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	params := map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}
	if err := p.b.call(ctx, p.session, "Runtime.evaluate", params, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("evaluating script: %s", r.Exception.Text)
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		return fmt.Errorf("decoding the script's value %s: %w", r.Result.Value, err)
	}
	return nil
}

// Screenshot returns a PNG of the page's region at x, y (CSS pixels from
// the top of the document) of width×height, beyond the window if need be.
func (p *Page) Screenshot(ctx context.Context, x, y, width, height float64) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	params := map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": x, "y": y, "width": width, "height": height, "scale": 1},
	}
	if err := p.b.call(ctx, p.session, "Page.captureScreenshot", params, &r); err != nil {
		return nil, err
	}
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return nil, fmt.Errorf("decoding the screenshot: %w", err)
	}
	return png, nil
}
