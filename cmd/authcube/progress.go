package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports long work: a progress bar with rate and ETA when w is a terminal, plain
// lines every few seconds otherwise (logs, CI).
type progress struct {
	w       io.Writer
	desc    string
	total   int64 // of the measured unit (bytes of an import file, users of an export); -1 unknown
	bar     *progressbar.ProgressBar
	start   time.Time
	lastOut time.Time
}

// progressEvery is how often the plain lines come.
const progressEvery = 2 * time.Second

func newProgress(w io.Writer, total int64, desc string) *progress {
	p := &progress{w: w, desc: desc, total: total, start: time.Now()}
	p.lastOut = p.start
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("units"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// set reports done units of total, and users handled.
func (p *progress) set(done int64, users int) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%s (%d users)", p.desc, users))
		p.bar.Set64(done)
		return
	}
	now := time.Now()
	if now.Sub(p.lastOut) < progressEvery {
		return
	}
	p.lastOut = now
	p.line(done, users, now)
}

func (p *progress) line(done int64, users int, now time.Time) {
	rate := float64(users) / max(now.Sub(p.start).Seconds(), 1e-9)
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(", %.0f%%", 100*float64(done)/float64(p.total))
	}
	fmt.Fprintf(p.w, "%s: %d users, %.0f users/s%s\n", p.desc, users, rate, pct)
}

// done ends the report with a last line.
func (p *progress) done(done int64, users int) {
	if p.bar != nil {
		p.bar.Finish()
	}
	p.line(done, users, time.Now())
}
