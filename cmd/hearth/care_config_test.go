package main

import (
	"strings"
	"testing"
)

// TestCrisisConfig: crisis_region and [[crisis_resources]] are read from
// config.toml, checked, and reported with the line and key when wrong.
func TestCrisisConfig(t *testing.T) {
	s := defaultSettings()
	doc := "crisis_region = \"uk\"\n\n[[crisis_resources]]\nregion = \"GB\"\nname = \"Local line\"\nphone = \"0800 000\"\n"
	if err := applyConfig(&s, "config.toml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	if s.crisisRegion != "uk" || len(s.crisisResources) != 1 || s.crisisResources[0].Name != "Local line" {
		t.Fatalf("settings %q %+v", s.crisisRegion, s.crisisResources)
	}
	for doc, want := range map[string]string{
		"crisis_region = \"Narnia\"\n":                                       `key "crisis_region"`,
		"[[crisis_resources]]\nregion = \"US\"\nname = \"x\"\n":              `key "crisis_resources"`,
		"[[crisis_resources]]\nregion = \"US\"\nname = \"x\"\nfax = \"1\"\n": `unknown key "crisis_resources.fax"`,
		"crisis_region = 1\n":                                                "two-letter country code",
	} {
		s := defaultSettings()
		err := applyConfig(&s, "config.toml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", doc, err, want)
		}
	}
}
