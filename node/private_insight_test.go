package node

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// generatedHistory is 120 days of check-ins in loc, from a seeded source:
// one to three a day, except on days 20 to 24 before now (a gap), with
// mood drifting up and craving down over time, the trigger "payday"
// raising craving by 3, and "tired" and "sleepy" always together (so
// their statistics tie and only their names order them).
func generatedHistory(now time.Time) []CheckIn {
	r := rand.New(rand.NewPCG(7, 9))
	loc := now.Location()
	y, m, d := now.Date()
	var out []CheckIn
	for back := 119; back >= 0; back-- {
		if back >= 20 && back <= 24 {
			continue
		}
		n := 1 + r.IntN(3)
		for range n {
			hour := r.IntN(24)
			at := time.Date(y, m, d-back, hour, r.IntN(60), 0, 0, loc)
			if at.After(now) {
				at = now.Add(-time.Minute)
			}
			c := CheckIn{At: at, Mood: 1 + min(4, (120-back)/30+r.IntN(2)), Craving: max(0, 6-(120-back)/25+r.IntN(3))}
			if r.IntN(4) == 0 {
				c.Triggers = []string{"payday"}
				c.Craving = min(10, c.Craving+3)
			}
			if r.IntN(3) == 0 {
				c.Triggers = append(c.Triggers, "tired", "sleepy")
			}
			out = append(out, c)
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// sumsSlope is the least-squares slope by the closed-form sums formula,
// (n·Σxy − Σx·Σy) / (n·Σx² − (Σx)²): written apart from the code under
// test, which centres on the means first.
func sumsSlope(xs, ys []float64) float64 {
	var n, sx, sy, sxy, sxx float64
	for i := range xs {
		n++
		sx += xs[i]
		sy += ys[i]
		sxy += xs[i] * ys[i]
		sxx += xs[i] * xs[i]
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// TestAnalyzeAgainstIndependentComputation checks every number Analyze
// gives against a second computation written differently: days by their
// formatted date, slopes by the closed-form sums formula.
func TestAnalyzeAgainstIndependentComputation(t *testing.T) {
	loc := time.FixedZone("test", -5*3600)
	now := time.Date(2026, 6, 15, 20, 30, 0, 0, loc)
	hist := generatedHistory(now)
	in := Analyze(hist, nil, now)

	if len(in.Trends) != 3 {
		t.Fatalf("%d trends", len(in.Trends))
	}
	for _, tr := range in.Trends {
		// Independent: group by date string over the window's dates.
		dates := map[string]bool{}
		var order []string
		for i := tr.Days - 1; i >= 0; i-- {
			s := now.AddDate(0, 0, -i).Format("2006-01-02")
			dates[s] = true
			order = append(order, s)
		}
		sumM, sumC, cnt := map[string]float64{}, map[string]float64{}, map[string]int{}
		total, tm, tc := 0, 0.0, 0.0
		for _, c := range hist {
			s := c.At.In(loc).Format("2006-01-02")
			if !dates[s] {
				continue
			}
			sumM[s] += float64(c.Mood)
			sumC[s] += float64(c.Craving)
			cnt[s]++
			total++
			tm += float64(c.Mood)
			tc += float64(c.Craving)
		}
		if tr.Count != total || !near(tr.MeanMood, tm/float64(total)) || !near(tr.MeanCraving, tc/float64(total)) {
			t.Fatalf("%d days: count %d mood %v craving %v; want %d %v %v", tr.Days, tr.Count, tr.MeanMood, tr.MeanCraving, total, tm/float64(total), tc/float64(total))
		}
		if len(tr.Daily) != len(order) {
			t.Fatalf("%d days: %d points", tr.Days, len(tr.Daily))
		}
		// Slopes by the closed-form sums formula, over the days with
		// check-ins, x being the day's place in the window.
		var xs, moods, cravings []float64
		for i, s := range order {
			p := tr.Daily[i]
			if p.Day != s || p.Count != cnt[s] {
				t.Fatalf("%d days: point %d = %+v, want %s with %d", tr.Days, i, p, s, cnt[s])
			}
			if cnt[s] == 0 {
				continue
			}
			m, c := sumM[s]/float64(cnt[s]), sumC[s]/float64(cnt[s])
			if !near(p.Mood, m) || !near(p.Craving, c) {
				t.Fatalf("%d days: %s means mood %v craving %v, want %v %v", tr.Days, s, p.Mood, p.Craving, m, c)
			}
			xs, moods, cravings = append(xs, float64(i)), append(moods, m), append(cravings, c)
		}
		if want := sumsSlope(xs, moods); !near(tr.MoodSlope, want) {
			t.Fatalf("%d days: mood slope %v, want %v", tr.Days, tr.MoodSlope, want)
		}
		if want := sumsSlope(xs, cravings); !near(tr.CravingSlope, want) {
			t.Fatalf("%d days: craving slope %v, want %v", tr.Days, tr.CravingSlope, want)
		}
	}
	// The generator raises mood and lowers craving over time.
	if in.Trends[2].MoodSlope <= 0 || in.Trends[2].CravingSlope >= 0 {
		t.Fatalf("90-day slopes mood %v craving %v: the generated drift is not seen", in.Trends[2].MoodSlope, in.Trends[2].CravingSlope)
	}

	// Triggers over 90 days, independently: each trigger's check-ins and
	// the others', their means, the difference, the share of high
	// cravings; then the order, strongest difference first and by name
	// on a tie.
	first := time.Date(2026, 6, 15-89, 0, 0, 0, 0, loc)
	var recent []CheckIn
	for _, c := range hist {
		if !c.At.Before(first) {
			recent = append(recent, c)
		}
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	type triggerWant struct {
		name                string
		count, high         int
		with, without, lift float64
	}
	var wantTriggers []triggerWant
	for _, name := range []string{"tired", "payday", "sleepy"} {
		var with, without []float64
		high := 0
		for _, c := range recent {
			if slices.Contains(c.Triggers, name) {
				with = append(with, float64(c.Craving))
				if c.Craving >= 7 {
					high++
				}
			} else {
				without = append(without, float64(c.Craving))
			}
		}
		wantTriggers = append(wantTriggers, triggerWant{name: name, count: len(with), high: high,
			with: mean(with), without: mean(without), lift: mean(with) - mean(without)})
	}
	slices.SortFunc(wantTriggers, func(a, b triggerWant) int {
		switch {
		case a.lift > b.lift:
			return -1
		case a.lift < b.lift:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	if len(in.Triggers) != len(wantTriggers) {
		t.Fatalf("triggers %+v, want %d", in.Triggers, len(wantTriggers))
	}
	for i, w := range wantTriggers {
		got := in.Triggers[i]
		if got.Trigger != w.name || got.Count != w.count || !near(got.MeanCraving, w.with) || !near(got.MeanCravingWithout, w.without) ||
			!near(got.Lift, w.lift) || !near(got.HighShare, float64(w.high)/float64(w.count)) || got.highCount() != w.high {
			t.Fatalf("trigger %d: %+v; want %+v", i, got, w)
		}
	}
	// The generator makes payday raise craving by 3, tired and sleepy
	// not at all, and those two tie, so their names order them.
	if in.Triggers[0].Trigger != "payday" || in.Triggers[0].Lift < 2 || in.Triggers[1].Trigger != "sleepy" ||
		in.Triggers[1].Lift != in.Triggers[2].Lift || math.Abs(in.Triggers[1].Lift) > 1 {
		t.Fatalf("triggers %+v: payday should lead, then sleepy and tired tied", in.Triggers)
	}

	// Times of day, independently, in their fixed order.
	parts := map[string][]float64{}
	highs := map[string]int{}
	for _, c := range recent {
		h := c.At.In(loc).Hour()
		var p string
		switch {
		case h < 6:
			p = "night"
		case h < 12:
			p = "morning"
		case h < 18:
			p = "afternoon"
		default:
			p = "evening"
		}
		parts[p] = append(parts[p], float64(c.Craving))
		if c.Craving >= 7 {
			highs[p]++
		}
	}
	var order []string
	for _, s := range in.TimesOfDay {
		order = append(order, s.Part)
		if s.Count != len(parts[s.Part]) || !near(s.MeanCraving, mean(parts[s.Part])) || s.HighCount != highs[s.Part] {
			t.Fatalf("%s: %+v, want %d at %v, %d high", s.Part, s, len(parts[s.Part]), mean(parts[s.Part]), highs[s.Part])
		}
	}
	if !slices.Equal(order, []string{"night", "morning", "afternoon", "evening"}) {
		t.Fatalf("parts of the day %v", order)
	}
	if highs["night"]+highs["morning"]+highs["afternoon"]+highs["evening"] == 0 {
		t.Fatal("the history has no high craving: the high counts prove nothing")
	}

	// Streaks by construction: days 0..19 back, then a gap of 20..24,
	// then 25..119 (95 days).
	if in.Streak.Current != 20 || in.Streak.Longest != 95 {
		t.Fatalf("streak %+v, want current 20, longest 95", in.Streak)
	}
	if len(in.Summary()) < 5 {
		t.Fatalf("summary too short: %q", in.Summary())
	}
}

func TestStreakBrokenYesterdayNotCurrent(t *testing.T) {
	now := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	day := func(back int) CheckIn { return CheckIn{At: now.AddDate(0, 0, -back), Mood: 3} }
	if s := Analyze([]CheckIn{day(2), day(3)}, nil, now).Streak; s.Current != 0 || s.Longest != 2 {
		t.Fatalf("streak ending two days ago: %+v", s)
	}
	if s := Analyze([]CheckIn{day(1), day(2)}, nil, now).Streak; s.Current != 2 {
		t.Fatalf("streak ending yesterday: %+v", s)
	}
}

func TestMilestones(t *testing.T) {
	if got := Milestones(800); !slices.Equal(got, []int{1, 3, 7, 14, 30, 60, 90, 180, 270, 365, 730}) {
		t.Fatalf("milestones %v", got)
	}
	for days, want := range map[int]int{0: 1, 1: 3, 13: 14, 270: 365, 365: 730, 1000: 1095} {
		if got := nextMilestone(days); got != want {
			t.Errorf("next after %d = %d, want %d", days, got, want)
		}
	}
}

// TestInsightSummaryNamesHighCravings: the words beside the trigger and
// time-of-day charts (and the CLI's) say how often each trigger and each
// part of the day went with a craving of HighCraving or more, not only the
// means, which can hide a few very strong cravings among mild ones.
func TestInsightSummaryNamesHighCravings(t *testing.T) {
	loc := time.FixedZone("here", 2*3600)
	now := time.Date(2026, 3, 20, 22, 0, 0, 0, loc)
	var hist []CheckIn
	// payday: 8 check-ins, 6 of them with craving 7 or more, all at 20:00;
	// the rest at 09:00, mild.
	for i := range 8 {
		c := CheckIn{At: time.Date(2026, 3, 10+i, 20, 0, 0, 0, loc), Mood: 3, Craving: 3, Triggers: []string{"payday"}}
		if i < 6 {
			c.Craving = 7 + i%4
		}
		hist = append(hist, c)
	}
	for i := range 4 {
		hist = append(hist, CheckIn{At: time.Date(2026, 3, 10+i, 9, 0, 0, 0, loc), Mood: 4, Craving: 2})
	}
	sum := strings.Join(Analyze(hist, nil, now).Summary(), "\n")
	for _, want := range []string{
		"payday: 6 of 8 check-ins with craving 7 or more",
		"Craving 7 or more: morning 0 of 4 check-ins, evening 6 of 8 check-ins.",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("the summary lacks %q:\n%s", want, sum)
		}
	}
}
