package report

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// labelChar is the width allowed per character of an 11-unit label: a
// little more than system-ui's widest digits and capitals take, so that
// labels spaced by this estimate do not meet in a browser.
const labelChar = 6.5

// tickGap is the room a time-axis label wants between it and the next.
const tickGap = 16

func labelWidth(s string) float64 { return labelChar * float64(len([]rune(s))) }

type yTick struct {
	v     float64
	label string
}

// yAxis draws a panel's frame: its background, a gridline and label per
// tick, and its title with the unit rotated along the left edge. A label
// at the panel's top edge hangs below its line and one at the bottom edge
// sits above it, so that the labels of stacked panels never meet; ticks
// come in order of importance, and a label that would meet one drawn
// before it is left off (its gridline stays).
func yAxis(c *canvas, top, height float64, title string, ticks []yTick, y func(float64) float64) {
	c.f(`<rect x="%d" y="%s" width="%d" height="%s" fill="#fafafa" stroke="#e0e0e0"/>`, marginLeft, num(top), plotWidth, num(height))
	var taken [][2]float64
	for _, t := range ticks {
		ty := y(t.v)
		c.f(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#e0e0e0"/>`, marginLeft, marginLeft+plotWidth, num(ty), num(ty))
		ly := ty + 4
		switch {
		case ty-top < 5:
			ly = ty + 9
		case top+height-ty < 5:
			ly = ty - 2
		}
		// An 11-unit label's box, baseline ly: ascent 10, descent 3.
		box := [2]float64{ly - 10, ly + 3}
		if slices.ContainsFunc(taken, func(o [2]float64) bool { return box[0] < o[1] && o[0] < box[1] }) {
			continue
		}
		taken = append(taken, box)
		c.f(`<text x="%d" y="%s" class="tick" text-anchor="end">%s</text>`, marginLeft-4, num(ly), esc(t.label))
	}
	cy := top + height/2
	c.f(`<text class="axis" text-anchor="middle" transform="translate(14 %s) rotate(-90)">%s</text>`, num(cy), esc(title))
}

// timeTick is a tick on the time axis; label is empty where it would meet
// the label before it.
type timeTick struct {
	x      float64
	label  string
	anchor string
}

// tickIntervals are the intervals the time axis may tick at, shortest
// first.
func tickIntervals() []time.Duration {
	return []time.Duration{
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
	}
}

// tickInterval is the shortest interval whose labels fit the plot's width
// with tickGap between them, and the layout of its labels: the time of day
// within a day, the weekday too over more than a day, the date for ticks a
// day or more apart.
func tickInterval(f frame) (time.Duration, string) {
	span := f.to - f.from
	var every time.Duration
	for _, every = range tickIntervals() {
		if plotWidth*float64(every)/float64(span) >= labelWidth(f.start.Format(tickLayout(every, span)))+tickGap {
			break
		}
	}
	return every, tickLayout(every, span)
}

func tickLayout(every, span time.Duration) string {
	switch {
	case every >= 24*time.Hour:
		return "Mon 2 Jan"
	case span > 24*time.Hour:
		return "Mon 15:04"
	}
	return "15:04"
}

// axisTitle names what the time axis's labels give, in the trace's time
// zone.
func axisTitle(f frame) string {
	what := "time of day"
	switch _, layout := tickInterval(f); layout {
	case "Mon 2 Jan":
		what = "day"
	case "Mon 15:04":
		what = "day and time"
	}
	return fmt.Sprintf("%s (%s)", what, f.start.Format("MST"))
}

// timeTicks ticks f at tickInterval, on round clock times of the trace's
// own time zone; a label that would still meet its neighbour at the
// plot's ends (where it is anchored inwards) is left off.
func timeTicks(f frame) []timeTick {
	every, layout := tickInterval(f)
	from := f.start.Add(f.from)
	at := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, from.Location())
	for at.Before(from) {
		at = at.Add(every)
	}
	var ticks []timeTick
	prevEnd := math.Inf(-1)
	for ; !at.After(f.start.Add(f.to)); at = at.Add(every) {
		t := timeTick{x: f.xAt(at), label: at.Format(layout), anchor: "middle"}
		w := labelWidth(t.label)
		left := t.x - w/2
		switch {
		case left < marginLeft-8:
			t.anchor, left = "start", t.x
		case t.x+w/2 > chartWidth:
			t.anchor, left = "end", t.x-w
		}
		if left < prevEnd+tickGap {
			t.label = ""
		} else {
			prevEnd = left + w
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// timeGrid draws a faint vertical line at each time tick across a panel.
func timeGrid(c *canvas, top, height float64, ticks []timeTick) {
	for _, t := range ticks {
		c.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#eeeeee"/>`, num(t.x), num(t.x), num(top), num(top+height))
	}
}

// timeAxis labels the time axis at y with the trace's wall-clock times and
// titles it with their time zone; zoom, when set, is shaded on it.
func timeAxis(c *canvas, f frame, ticks []timeTick, y float64, zoom *frame) {
	c.f(`<g class="time-axis">`)
	c.f(`<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="#9e9e9e"/>`, marginLeft, marginLeft+plotWidth, num(y), num(y))
	if zoom != nil {
		var s svg
		s.f(`<rect x="%s" y="%s" width="%s" height="5" fill="%s"><title>shown closer below</title></rect>`,
			num(f.x(zoom.from)), num(y-5), num(f.x(zoom.to)-f.x(zoom.from)), zoomBlue)
		c.group(markZoom, s.b.String())
	}
	for _, t := range ticks {
		c.f(`<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="#9e9e9e"/>`, num(t.x), num(t.x), num(y), num(y+4))
		if t.label != "" {
			c.f(`<text x="%s" y="%s" class="tick" text-anchor="%s">%s</text>`, num(t.x), num(y+15), t.anchor, esc(t.label))
		}
	}
	c.f(`<text x="%s" y="%s" class="axis" text-anchor="middle">%s</text>`, num(marginLeft+plotWidth/2.0), num(y+31), esc(axisTitle(f)))
	c.f(`</g>`)
}

// niceCeil rounds v up to a round number: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5,
// 6 or 8 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
