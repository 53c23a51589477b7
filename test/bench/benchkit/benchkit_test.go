package benchkit

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestQuantiles(t *testing.T) {
	r := Result{Samples: []time.Duration{5, 1, 3, 2, 4}}
	if r.Median() != 3 || r.Q1() != 2 || r.Q3() != 4 {
		t.Fatalf("median %v q1 %v q3 %v", r.Median(), r.Q1(), r.Q3())
	}
	if got := (Result{Samples: []time.Duration{1, 2}}).Median(); got != 1 {
		// interpolated 1.5ns truncates to 1
		t.Fatalf("median of {1,2} = %v", got)
	}
	if (Result{}).Median() != 0 {
		t.Fatal("empty median")
	}
}

func TestAlternateOrderAndErrors(t *testing.T) {
	var order []string
	mk := func(name string, d time.Duration) Case {
		return Case{Name: name, Run: func() (time.Duration, error) { order = append(order, name); return d, nil }}
	}
	res, err := Alternate(1, 2, mk("a", 10), mk("b", 20))
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Samples) != 2 || len(res[1].Samples) != 2 {
		t.Fatalf("samples: %+v", res)
	}
	want := []string{"a", "b", "b", "a", "a", "b"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if r := Compare(res[1], res[0]); r.Median != 2 || r.Q1 != 2 {
		t.Fatalf("ratio %+v", r)
	}
	_, err = Alternate(0, 1, Case{Name: "x", Run: func() (time.Duration, error) { return 0, errors.New("boom") }})
	if err == nil || err.Error() != "x: boom" {
		t.Fatalf("err %v", err)
	}
}

func TestOverhead(t *testing.T) {
	base := Result{Samples: []time.Duration{100, 100, 100}}
	floor := Result{Samples: []time.Duration{110, 110, 110}}
	a := Result{Samples: []time.Duration{112, 112, 112}}
	if r := Overhead(a, floor, base); math.Abs(r.Median-1.2) > 1e-9 {
		t.Fatalf("overhead %+v", r)
	}
	if r := Overhead(a, base, base); !math.IsNaN(r.Median) {
		t.Fatalf("zero floor overhead should be NaN, got %+v", r)
	}
}

func TestBootstrapIntervals(t *testing.T) {
	// A wrapper adding exactly 1.2× the floor's added time, on a base with
	// round-to-round noise shared by every case of a round: the estimate is
	// 1.2 and the paired interval is tight around it.
	var base, floor, wrap Result
	rng := []time.Duration{0, 300, 50, 900, 120, 40, 700, 10, 220, 480}
	for i := 0; i < 200; i++ {
		noise := rng[i%len(rng)] * time.Microsecond
		b := 20*time.Millisecond + noise
		base.Samples = append(base.Samples, b)
		floor.Samples = append(floor.Samples, b+1000*time.Microsecond)
		wrap.Samples = append(wrap.Samples, b+1200*time.Microsecond)
	}
	iv := OverheadCI(wrap, floor, base, 500)
	if math.Abs(iv.Est-1.2) > 1e-9 || iv.Lo > 1.2 || iv.Hi < 1.2 || iv.Hi-iv.Lo > 0.05 {
		t.Fatalf("OverheadCI = %v", iv)
	}
	if iv.Verdict(1.25) != "met" || iv.Verdict(1.1) != "MISSED" {
		t.Fatalf("verdicts %q %q", iv.Verdict(1.25), iv.Verdict(1.1))
	}
	if v := (Interval{Est: 1.2, Lo: 1.1, Hi: 1.3}).Verdict(1.25); v == "met" || v == "MISSED" {
		t.Fatalf("spanning interval: %q", v)
	}
	c := CompareCI(wrap, base, 500)
	if c.Lo > c.Est || c.Hi < c.Est || c.Est <= 1 {
		t.Fatalf("CompareCI = %v", c)
	}
	// Deterministic: the same samples give the same interval.
	if again := OverheadCI(wrap, floor, base, 500); again != iv {
		t.Fatalf("not reproducible: %v then %v", iv, again)
	}
	if e := OverheadCI(Result{}, Result{}, Result{}, 10); !math.IsNaN(e.Est) {
		t.Fatalf("empty: %v", e)
	}
}

func TestReload(t *testing.T) {
	p := t.TempDir() + "/f"
	if err := os.WriteFile(p, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Reload(p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "content" {
		t.Fatalf("content changed: %q", b)
	}
	if err := Reload(p + ".missing"); err == nil {
		t.Fatal("no error for a missing file")
	}
}

// Over a full cycle of rounds every case runs in every position equally
// often and follows every other case equally often.
func TestRoundOrderBalanced(t *testing.T) {
	for n := 1; n <= 7; n++ {
		cycle := n
		if n%2 == 1 {
			cycle = 2 * n
		}
		pos := map[[2]int]int{}
		follows := map[[2]int]int{}
		for r := 0; r < cycle; r++ {
			o := roundOrder(n, r)
			seen := map[int]bool{}
			for j, c := range o {
				if seen[c] || c < 0 || c >= n {
					t.Fatalf("n=%d round %d: %v is not a permutation", n, r, o)
				}
				seen[c] = true
				pos[[2]int{c, j}]++
				if j > 0 {
					follows[[2]int{o[j-1], c}]++
				}
			}
		}
		for c := 0; c < n; c++ {
			for j := 0; j < n; j++ {
				if got := pos[[2]int{c, j}]; got != cycle/n {
					t.Errorf("n=%d: case %d in position %d %d times, want %d", n, c, j, got, cycle/n)
				}
			}
			for a := 0; a < n; a++ {
				if a == c {
					continue
				}
				if got, want := follows[[2]int{a, c}], cycle/n; got != want {
					t.Errorf("n=%d: case %d follows %d %d times, want %d", n, c, a, got, want)
				}
			}
		}
	}
}

// A ratio without a value (a floor that added no time) settles nothing.
func TestVerdictWithoutValue(t *testing.T) {
	mk := func(name string, ds ...time.Duration) Result { return Result{Name: name, Samples: ds} }
	var bare, floor, a []time.Duration
	for i := 0; i < 40; i++ {
		// The floor adds nothing; the wrapper is faster than bare.
		bare = append(bare, time.Duration(1000+i%3))
		floor = append(floor, time.Duration(1000+i%3))
		a = append(a, time.Duration(700+i%5))
	}
	iv := OverheadCI(mk("a", a...), mk("floor", floor...), mk("bare", bare...), 2000)
	if v := iv.Verdict(1.25); v == "met" || v == "MISSED" {
		t.Errorf("%s: verdict %q", iv, v)
	}
	if iv.Dropped == 0 || !strings.Contains(iv.String(), "resamples without a value") {
		t.Errorf("dropped resamples not reported: %+v %s", iv, iv)
	}
	if v := (Interval{Est: 1.0, Lo: 0.9, Hi: 1.05, Dropped: 100, Resamples: 2000}).Verdict(1.25); v == "met" {
		t.Errorf("5%% of resamples without a value: verdict %q", v)
	}
}
