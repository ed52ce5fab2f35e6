package node

import (
	"errors"
	"testing"
)

// TestCrisisDirectory: the shipped list has the US 988 line, Samaritans
// for the UK and Ireland, and the international directory and emergency
// advice in every region; configured resources replace a region's shipped
// ones (the international ones included) and nothing else; bad entries and
// regions are refused.
func TestCrisisDirectory(t *testing.T) {
	d, err := NewCrisisDirectory(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	region, us := d.For("us")
	if region != "US" || len(us) < 3 || us[0].Phone != "988" || us[0].SMS != "988" {
		t.Fatalf("US: %s %+v", region, us)
	}
	if last := us[len(us)-1]; last.Region != RegionInternational || last.Note == "" {
		t.Fatalf("US list does not end with the international advice: %+v", last)
	}
	for _, r := range []string{"UK", "gb", "IE"} {
		if _, list := d.For(r); list[0].Name != "Samaritans" || list[0].Phone != "116 123" {
			t.Fatalf("%s: %+v", r, list)
		}
	}
	if region, list := d.For(""); region != "" || len(list) != 2 || list[0].URL != "https://findahelpline.com" {
		t.Fatalf("no region: %q %+v", region, list)
	}
	if _, list := d.For("FR"); len(list) != 2 {
		t.Fatalf("a region without its own: %+v", list)
	}

	d, err = NewCrisisDirectory([]CrisisResource{
		{Region: "us", Name: "County crisis line", Phone: "555 0100"},
		{Region: "NZ", Name: "Need to talk?", Phone: "1737", SMS: "1737"},
	}, "nz")
	if err != nil {
		t.Fatal(err)
	}
	if region, list := d.For(""); region != "NZ" || list[0].Phone != "1737" || len(list) != 3 {
		t.Fatalf("default region NZ: %q %+v", region, list)
	}
	if _, list := d.For("US"); list[0].Name != "County crisis line" || len(list) != 3 {
		t.Fatalf("US replaced: %+v", list)
	}
	if regions := d.Regions(); len(regions) != 4 || regions[0] != "GB" || regions[3] != "US" {
		t.Fatalf("regions: %v", regions)
	}

	for name, bad := range map[string][]CrisisResource{
		"region":   {{Region: "USA", Name: "x", Phone: "1"}},
		"no name":  {{Region: "US", Phone: "1"}},
		"nothing":  {{Region: "US", Name: "x"}},
		"url":      {{Region: "US", Name: "x", URL: "javascript:alert(1)"}},
		"control":  {{Region: "US", Name: "x\x1b[31m", Phone: "1"}},
		"too long": {{Region: "US", Name: string(make([]byte, 300)), Phone: "1"}},
	} {
		if _, err := NewCrisisDirectory(bad, ""); !errors.Is(err, ErrBadCrisisResource) {
			t.Errorf("%s: %v, want ErrBadCrisisResource", name, err)
		}
	}
	if _, err := NewCrisisDirectory(nil, "Narnia"); !errors.Is(err, ErrBadCrisisResource) {
		t.Errorf("default region Narnia: %v", err)
	}
}
