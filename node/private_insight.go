package node

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Insight: local analytics over the member's own history. Everything here
// is a pure function of the history, the clock reading and the time zone
// passed in, so it is tested against values computed independently, and
// nothing of it is stored: it is computed again each time it is shown.

// InsightWindows are the trend windows, in days.
var insightWindows = [...]int{7, 30, 90}

// HighCraving is the craving from which a check-in counts as a high
// craving in the trigger and time-of-day statistics.
const HighCraving = 7

// Insight is the analysis of a history at one moment.
type Insight struct {
	Now time.Time `json:"now"`
	// Trends over the last 7, 30 and 90 days (today included).
	Trends []Trend `json:"trends"`
	// Triggers over the last 90 days, the strongest association with
	// craving first.
	Triggers []TriggerStat `json:"triggers"`
	// TimesOfDay over the last 90 days: night (0-6), morning (6-12),
	// afternoon (12-18), evening (18-24).
	TimesOfDay []TimeOfDayStat `json:"times_of_day"`
	// Streak counts consecutive days with at least one check-in.
	Streak Streak `json:"streak"`
	// Habits are the day counters.
	Habits []HabitStatus `json:"habits"`
}

// Trend summarises a window of days.
type Trend struct {
	Days        int     `json:"days"`
	Count       int     `json:"count"`
	MeanMood    float64 `json:"mean_mood"`
	MeanCraving float64 `json:"mean_craving"`
	// MoodSlope and CravingSlope are least-squares slopes of the daily
	// means against the day, in points per day (days without check-ins
	// are left out); 0 with fewer than two such days.
	MoodSlope    float64 `json:"mood_slope"`
	CravingSlope float64 `json:"craving_slope"`
	// Daily has one point per day of the window, oldest first.
	Daily []DayPoint `json:"daily"`
}

// DayPoint is one day of a trend. Mood and Craving are that day's means,
// meaningful only when Count > 0.
type DayPoint struct {
	Day     string  `json:"day"` // YYYY-MM-DD
	Count   int     `json:"count"`
	Mood    float64 `json:"mood"`
	Craving float64 `json:"craving"`
}

// TriggerStat relates one trigger to craving.
type TriggerStat struct {
	Trigger string `json:"trigger"`
	Count   int    `json:"count"`
	// MeanCraving is the mean craving of check-ins with the trigger,
	// MeanCravingWithout that of the others; Lift is the difference.
	MeanCraving        float64 `json:"mean_craving"`
	MeanCravingWithout float64 `json:"mean_craving_without"`
	Lift               float64 `json:"lift"`
	// HighShare is the fraction of check-ins with the trigger whose
	// craving was HighCraving or more.
	HighShare float64 `json:"high_share"`
}

// highCount is the number of check-ins with the trigger whose craving was
// HighCraving or more.
func (t TriggerStat) highCount() int {
	return int(math.Round(t.HighShare * float64(t.Count)))
}

// TimeOfDayStat is the craving in one part of the day.
type TimeOfDayStat struct {
	Part        string  `json:"part"`
	Count       int     `json:"count"`
	MeanCraving float64 `json:"mean_craving"`
	HighCount   int     `json:"high_count"`
}

// Streak is the run of consecutive days with a check-in: Current ends
// today or yesterday (0 otherwise), Longest is the longest ever.
type Streak struct {
	Current int `json:"current"`
	Longest int `json:"longest"`
}

// HabitStatus is a habit's counter at one moment.
type HabitStatus struct {
	ID    PrivateID `json:"id"`
	Name  string    `json:"name"`
	Start time.Time `json:"start"`
	// Since is the start or the last slip; Days counts whole calendar
	// days since it.
	Since time.Time `json:"since"`
	Days  int       `json:"days"`
	Slips int       `json:"slips"`
	// LongestRun is the longest run in days between start, slips and now.
	LongestRun int `json:"longest_run"`
	// Milestone is the last milestone reached (0: none yet), Next the
	// next one.
	Milestone int `json:"milestone"`
	Next      int `json:"next"`
}

// civilDay numbers t's calendar day in loc.
func civilDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func dayString(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format("2006-01-02")
}

// HabitDays is the number of whole calendar days (in now's location) since
// the habit's start or its last slip.
func HabitDays(h Habit, now time.Time) int {
	return int(civilDay(now, now.Location()) - civilDay(habitSince(h), now.Location()))
}

func habitSince(h Habit) time.Time {
	since := h.Start
	for _, s := range h.Slips {
		if s.At.After(since) {
			since = s.At
		}
	}
	return since
}

// Milestones lists the milestone days up to limit: 1, 3, 7, 14, 30, 60,
// 90, 180, 270, 365 and then every year.
func Milestones(limit int) []int {
	var out []int
	for _, m := range []int{1, 3, 7, 14, 30, 60, 90, 180, 270} {
		if m <= limit {
			out = append(out, m)
		}
	}
	for y := 365; y <= limit; y += 365 {
		out = append(out, y)
	}
	return out
}

func nextMilestone(days int) int {
	for _, m := range []int{1, 3, 7, 14, 30, 60, 90, 180, 270} {
		if m > days {
			return m
		}
	}
	return (days/365 + 1) * 365
}

// StatusOf computes a habit's counter at now (in now's location).
func StatusOf(h Habit, now time.Time) HabitStatus {
	loc := now.Location()
	since := habitSince(h)
	st := HabitStatus{ID: h.ID, Name: h.Name, Start: h.Start, Since: since, Days: HabitDays(h, now), Slips: len(h.Slips)}
	prev := civilDay(h.Start, loc)
	for _, s := range h.Slips {
		d := civilDay(s.At, loc)
		st.LongestRun = max(st.LongestRun, int(d-prev))
		prev = d
	}
	st.LongestRun = max(st.LongestRun, int(civilDay(now, loc)-prev))
	if ms := Milestones(st.Days); len(ms) > 0 {
		st.Milestone = ms[len(ms)-1]
	}
	st.Next = nextMilestone(st.Days)
	return st
}

// Analyze computes the insight over checkIns and habits at now, with days
// and parts of the day taken in now's location. Check-ins after now are
// ignored.
func Analyze(checkIns []CheckIn, habits []Habit, now time.Time) Insight {
	loc := now.Location()
	today := civilDay(now, loc)
	in := Insight{Now: now}
	for _, w := range insightWindows {
		in.Trends = append(in.Trends, trendOf(checkIns, today, w, now, loc))
	}

	// Triggers and times of day over the longest window.
	from := today - int64(insightWindows[len(insightWindows)-1]) + 1
	var recent []CheckIn
	for _, c := range checkIns {
		if d := civilDay(c.At, loc); d >= from && !c.At.After(now) {
			recent = append(recent, c)
		}
	}
	in.Triggers = triggerStats(recent)
	in.TimesOfDay = timeOfDayStats(recent, loc)
	in.Streak = streakOf(checkIns, today, now, loc)
	for _, h := range habits {
		in.Habits = append(in.Habits, StatusOf(h, now))
	}
	return in
}

func trendOf(checkIns []CheckIn, today int64, days int, now time.Time, loc *time.Location) Trend {
	t := Trend{Days: days, Daily: make([]DayPoint, days)}
	first := today - int64(days) + 1
	for i := range t.Daily {
		t.Daily[i].Day = dayString(first + int64(i))
	}
	var sumMood, sumCrav float64
	for _, c := range checkIns {
		d := civilDay(c.At, loc)
		if d < first || d > today || c.At.After(now) {
			continue
		}
		p := &t.Daily[d-first]
		p.Count++
		p.Mood += float64(c.Mood)
		p.Craving += float64(c.Craving)
		sumMood += float64(c.Mood)
		sumCrav += float64(c.Craving)
		t.Count++
	}
	var xs, moods, cravs []float64
	for i := range t.Daily {
		p := &t.Daily[i]
		if p.Count == 0 {
			continue
		}
		p.Mood /= float64(p.Count)
		p.Craving /= float64(p.Count)
		xs = append(xs, float64(i))
		moods = append(moods, p.Mood)
		cravs = append(cravs, p.Craving)
	}
	if t.Count > 0 {
		t.MeanMood = sumMood / float64(t.Count)
		t.MeanCraving = sumCrav / float64(t.Count)
	}
	t.MoodSlope = slope(xs, moods)
	t.CravingSlope = slope(xs, cravs)
	return t
}

// slope is the least-squares slope of ys against xs (0 if undefined).
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 {
		return 0
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

func triggerStats(cs []CheckIn) []TriggerStat {
	var names []string
	for _, c := range cs {
		for _, t := range c.Triggers {
			if !slices.Contains(names, t) {
				names = append(names, t)
			}
		}
	}
	var out []TriggerStat
	for _, name := range names {
		var with, without, high int
		var sw, so float64
		for _, c := range cs {
			if slices.Contains(c.Triggers, name) {
				with++
				sw += float64(c.Craving)
				if c.Craving >= HighCraving {
					high++
				}
			} else {
				without++
				so += float64(c.Craving)
			}
		}
		st := TriggerStat{Trigger: name, Count: with, MeanCraving: sw / float64(with), HighShare: float64(high) / float64(with)}
		if without > 0 {
			st.MeanCravingWithout = so / float64(without)
		}
		st.Lift = st.MeanCraving - st.MeanCravingWithout
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b TriggerStat) int {
		if a.Lift != b.Lift {
			if a.Lift > b.Lift {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Trigger, b.Trigger)
	})
	return out
}

// Parts of the day, by starting hour.
var dayParts = [...]struct {
	name string
	from int
}{{"night", 0}, {"morning", 6}, {"afternoon", 12}, {"evening", 18}}

func timeOfDayStats(cs []CheckIn, loc *time.Location) []TimeOfDayStat {
	out := make([]TimeOfDayStat, len(dayParts))
	sums := make([]float64, len(dayParts))
	for i, p := range dayParts {
		out[i].Part = p.name
	}
	for _, c := range cs {
		i := c.At.In(loc).Hour() / 6
		out[i].Count++
		sums[i] += float64(c.Craving)
		if c.Craving >= HighCraving {
			out[i].HighCount++
		}
	}
	for i := range out {
		if out[i].Count > 0 {
			out[i].MeanCraving = sums[i] / float64(out[i].Count)
		}
	}
	return out
}

func streakOf(cs []CheckIn, today int64, now time.Time, loc *time.Location) Streak {
	var days []int64
	for _, c := range cs {
		if c.At.After(now) {
			continue
		}
		days = append(days, civilDay(c.At, loc))
	}
	slices.Sort(days)
	days = slices.Compact(days)
	var s Streak
	run := 0
	for i, d := range days {
		if i > 0 && d == days[i-1]+1 {
			run++
		} else {
			run = 1
		}
		s.Longest = max(s.Longest, run)
	}
	if n := len(days); n > 0 && days[n-1] >= today-1 {
		s.Current = run
	}
	return s
}

// Summary is the insight as plain sentences, one per line: what the CLI
// prints and what the web UI shows beside each chart.
func (in Insight) Summary() []string {
	var out []string
	for _, t := range in.Trends {
		out = append(out, t.Summary())
	}
	if len(in.Triggers) > 0 {
		var parts, highs []string
		for _, t := range in.Triggers {
			parts = append(parts, fmt.Sprintf("%s: craving %.1f with it, %.1f without (%d check-ins)", t.Trigger, t.MeanCraving, t.MeanCravingWithout, t.Count))
			highs = append(highs, fmt.Sprintf("%s: %d of %d check-ins with craving %d or more", t.Trigger, t.highCount(), t.Count, HighCraving))
		}
		out = append(out, "Triggers (90 days): "+strings.Join(parts, "; ")+". High cravings: "+strings.Join(highs, "; ")+".")
	}
	if tod := timeOfDaySummary(in.TimesOfDay); tod != "" {
		out = append(out, tod)
	}
	out = append(out, fmt.Sprintf("Check-in streak: %s now, longest %s.", pluralDays(in.Streak.Current), pluralDays(in.Streak.Longest)))
	for _, h := range in.Habits {
		out = append(out, fmt.Sprintf("%s: %s (longest run %s, %d slips recorded); next milestone %s.", h.Name, pluralDays(h.Days), pluralDays(h.LongestRun), h.Slips, pluralDays(h.Next)))
	}
	return out
}

// pluralDays words a number of days.
func pluralDays(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// Summary describes one trend in a sentence.
func (t Trend) Summary() string {
	if t.Count == 0 {
		return fmt.Sprintf("Last %d days: no check-ins.", t.Days)
	}
	return fmt.Sprintf("Last %d days: %d check-ins, mood %.1f of 5 (%s), craving %.1f of 10 (%s).",
		t.Days, t.Count, t.MeanMood, direction(t.MoodSlope, "rising", "falling"), t.MeanCraving, direction(t.CravingSlope, "rising", "falling"))
}

// direction words a slope in points per day; under 0.02 a day (less than
// a point a month and a half) is steady.
func direction(s float64, up, down string) string {
	switch {
	case s >= 0.02:
		return up
	case s <= -0.02:
		return down
	default:
		return "steady"
	}
}

// TimeOfDaySummary names the part of the day with the highest mean craving.
func timeOfDaySummary(ps []TimeOfDayStat) string {
	best := -1
	for i, p := range ps {
		if p.Count > 0 && (best < 0 || p.MeanCraving > ps[best].MeanCraving) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	var parts, highs []string
	for _, p := range ps {
		if p.Count > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f", p.Part, p.MeanCraving))
			highs = append(highs, fmt.Sprintf("%s %d of %d check-ins", p.Part, p.HighCount, p.Count))
		}
	}
	return fmt.Sprintf("Cravings run highest in the %s (mean craving by part of day: %s). Craving %d or more: %s.",
		ps[best].Part, strings.Join(parts, ", "), HighCraving, strings.Join(highs, ", "))
}
