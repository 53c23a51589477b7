// Package benchkit measures things side by side: several cases run
// alternately (A B C A B C …) for a number of rounds, so that machine noise
// — which only ever adds time — hits all of them alike, and results are
// compared as ratios of medians and lower quartiles rather than as absolute
// times.
package benchkit

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Case is one thing to time. Run does one measured repetition and returns
// its duration (so it can exclude its own setup) or an error.
type Case struct {
	Name string
	Run  func() (time.Duration, error)
}

// Result holds the samples of one case.
type Result struct {
	Name    string
	Samples []time.Duration
}

// Quantile returns the q-quantile (0..1) of the samples, interpolated.
func (r Result) Quantile(q float64) time.Duration {
	if len(r.Samples) == 0 {
		return 0
	}
	s := make([]float64, len(r.Samples))
	for i, d := range r.Samples {
		s[i] = float64(d)
	}
	sort.Float64s(s)
	return time.Duration(quantile(s, q))
}

func (r Result) Median() time.Duration { return r.Quantile(0.5) }
func (r Result) Q1() time.Duration     { return r.Quantile(0.25) }
func (r Result) Q3() time.Duration     { return r.Quantile(0.75) }

// Spread is the interquartile range relative to the median.
func (r Result) Spread() float64 {
	m := r.Median()
	if m == 0 {
		return 0
	}
	return float64(r.Q3()-r.Q1()) / float64(m)
}

// Alternate runs warmup unmeasured rounds, then rounds measured rounds of
// every case in turn, and returns the samples by case. The order changes
// from round to round as a Williams design (a balanced Latin square): over
// every n rounds of n cases (2n when n is odd) each case runs in each
// position equally often and follows every other case equally often, so
// what one case leaves behind (a cache warmed, a daemon's cleanup still
// running) weighs on all the others alike.
func Alternate(warmup, rounds int, cases ...Case) ([]Result, error) {
	res := make([]Result, len(cases))
	for i, c := range cases {
		res[i].Name = c.Name
	}
	for r := 0; r < warmup+rounds; r++ {
		for _, i := range roundOrder(len(cases), r) {
			d, err := cases[i].Run()
			if err != nil {
				return res, fmt.Errorf("%s: %w", cases[i].Name, err)
			}
			if r >= warmup {
				res[i].Samples = append(res[i].Samples, d)
			}
		}
	}
	return res, nil
}

// roundOrder is the order of the n cases in round r: row r mod n of a
// Williams square (0, n-1, 1, n-2, … shifted by r), reversed in the second
// n rounds of every 2n when n is odd.
func roundOrder(n, r int) []int {
	out := make([]int, n)
	for j := range out {
		b := j / 2
		if j%2 == 1 {
			b = n - (j+1)/2
		}
		out[j] = (b + r) % n
	}
	if n%2 == 1 && (r/n)%2 == 1 {
		for i, k := 0, n-1; i < k; i, k = i+1, k-1 {
			out[i], out[k] = out[k], out[i]
		}
	}
	return out
}

// Ratio is a/b of medians and of lower quartiles.
type Ratio struct {
	Median, Q1 float64
}

// Compare returns a/b.
func Compare(a, b Result) Ratio {
	return Ratio{
		Median: float64(a.Median()) / float64(b.Median()),
		Q1:     float64(a.Q1()) / float64(b.Q1()),
	}
}

// Overhead compares the time a adds over base with the time floor adds
// over base: (a-base)/(floor-base), by medians and lower quartiles. It is
// how a wrapper is judged against the cheapest possible wrapper.
func Overhead(a, floor, base Result) Ratio {
	f := func(q float64) float64 {
		den := float64(floor.Quantile(q) - base.Quantile(q))
		if den <= 0 {
			return math.NaN()
		}
		return float64(a.Quantile(q)-base.Quantile(q)) / den
	}
	return Ratio{Median: f(0.5), Q1: f(0.25)}
}

// Format renders d with a unit suited to its size.
func Format(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	}
}

// Table renders rows as a Markdown table.
func Table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// EnvInt is the positive integer in environment variable name (a round
// count, a size), or def when it is unset or not a positive integer.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
