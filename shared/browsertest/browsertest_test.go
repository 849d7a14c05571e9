package browsertest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stampkit/stampkit/shared/browsertest"
)

// pages serves each page of pages at its path; anything else is a 404.
func pages(t *testing.T, pages map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const quiet = `<!DOCTYPE html><html><head><link rel="icon" href="data:,"/></head><body>`

// TestErrorsAndInk checks that what a broken page reports reaches Errors,
// that a clean page reports nothing, and that Ink tells a blank screenshot
// from a drawn one: the checks the report's browser test relies on can
// fail.
func TestErrorsAndInk(t *testing.T) {
	b := browsertest.Start(t)
	base := pages(t, map[string]string{
		"/clean": quiet + `<svg width="400" height="300"><rect width="300" height="200" fill="#3949ab"/><circle cx="200" cy="150" r="60" fill="#e53935"/></svg><p>hello</p></body></html>`,
		"/blank": quiet + `</body></html>`,
		"/broken": quiet + `<script>console.error("the chart", 42); undefinedFunction();</script>` +
			`<img src="/missing.png"/></body></html>`,
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	broken, err := b.Open(ctx, base+"/broken", 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(broken.Errors(), "\n")
	for _, want := range []string{"console.error: the chart 42", "undefinedFunction", "404"} {
		if !strings.Contains(got, want) {
			t.Errorf("the broken page's errors lack %q; got:\n%s", want, got)
		}
	}

	clean, err := b.Open(ctx, base+"/clean", 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	if errs := clean.Errors(); len(errs) > 0 {
		t.Errorf("the clean page reported errors: %q", errs)
	}
	var title string
	if err := clean.Eval(ctx, `document.querySelector("p").textContent`, &title); err != nil || title != "hello" {
		t.Errorf("Eval = %q, %v; want hello", title, err)
	}
	drawn, err := clean.Screenshot(ctx, 0, 0, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	blankPage, err := b.Open(ctx, base+"/blank", 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	blank, err := blankPage.Screenshot(ctx, 0, 0, 800, 600)
	if err != nil {
		t.Fatal(err)
	}
	share, colours, err := browsertest.Ink(drawn)
	if err != nil {
		t.Fatal(err)
	}
	// The rectangle alone is 60000 of the 480000 pixels.
	if share < 0.1 || colours < 3 {
		t.Errorf("drawn page: ink %.3f, %d colours; want at least 0.1 and 3", share, colours)
	}
	share, colours, err = browsertest.Ink(blank)
	if err != nil {
		t.Fatal(err)
	}
	if share > 0.001 || colours > 2 {
		t.Errorf("blank page: ink %.3f, %d colours; want none", share, colours)
	}
}
