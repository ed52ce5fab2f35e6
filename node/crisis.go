package node

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file is the list of crisis resources a member sees the moment they
// ask for help: fellow members are peers, not a crisis service, and a
// person in danger needs a crisis line first. The list ships with Hearth
// (crisis_resources.json) and can be replaced region by region from the
// daemon's configuration (Config.CrisisResources). The node only serves
// the list: it never contacts any of these services, and interfaces show
// them as text and links that the member chooses to open.

//go:embed crisis_resources.json
var defaultCrisisJSON []byte

// RegionInternational marks resources shown in every region.
const RegionInternational = "INTL"

// CrisisNotice is what every interface says next to the resources.
const CrisisNotice = "Hearth members are peers, not a crisis service. If you are in danger or thinking of ending your life, contact a crisis line or your local emergency number now."

// Limits of a crisis resource's fields.
const (
	maxCrisisName      = 200
	maxCrisisNumber    = 40
	maxCrisisURL       = 500
	maxCrisisNote      = 500
	maxCrisisResources = 500
)

// ErrBadCrisisResource is returned (wrapped, with the reason) for a crisis
// resource that breaks the rules of ValidateCrisisResources.
var ErrBadCrisisResource = errors.New("crisis resource not allowed")

// CrisisResource is one crisis line or directory.
type CrisisResource struct {
	// Region is an ISO 3166-1 alpha-2 country code ("US", "GB"), or
	// RegionInternational for resources shown everywhere.
	Region string `json:"region" toml:"region"`
	Name   string `json:"name" toml:"name"`
	// Phone and SMS are numbers to call and to text, as people write
	// them ("116 123").
	Phone string `json:"phone,omitempty" toml:"phone"`
	SMS   string `json:"sms,omitempty" toml:"sms"`
	// URL is an https (or http) address.
	URL  string `json:"url,omitempty" toml:"url"`
	Note string `json:"note,omitempty" toml:"note"`
}

// NormalizeRegion upper-cases a region code and maps the aliases people
// use ("UK" for "GB"). It returns "" for "".
func NormalizeRegion(region string) string {
	r := strings.ToUpper(strings.TrimSpace(region))
	if r == "UK" {
		return "GB"
	}
	return r
}

// validRegion reports whether r (normalised) is a region code.
func validRegion(r string) bool {
	if r == RegionInternational {
		return true
	}
	return len(r) == 2 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z'
}

// ValidateCrisisResources checks a list of resources and returns it with
// regions normalised. Every resource needs a region and a name, and a
// phone, SMS number or URL unless it is advice ("call your local emergency
// number") with a note; a URL must be http or https. It returns
// ErrBadCrisisResource (wrapped).
func ValidateCrisisResources(list []CrisisResource) ([]CrisisResource, error) {
	if len(list) > maxCrisisResources {
		return nil, fmt.Errorf("node: %w: %d resources, at most %d", ErrBadCrisisResource, len(list), maxCrisisResources)
	}
	out := make([]CrisisResource, len(list))
	for i, c := range list {
		c.Region = NormalizeRegion(c.Region)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("node: %w: resource %d (%q): %s", ErrBadCrisisResource, i+1, c.Name, fmt.Sprintf(format, args...))
		}
		if !validRegion(c.Region) {
			return nil, bad("region %q is not a two-letter country code or %s", c.Region, RegionInternational)
		}
		for _, f := range []struct {
			name, v string
			max     int
		}{{"name", c.Name, maxCrisisName}, {"phone", c.Phone, maxCrisisNumber}, {"sms", c.SMS, maxCrisisNumber}, {"url", c.URL, maxCrisisURL}, {"note", c.Note, maxCrisisNote}} {
			if len(f.v) > f.max || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				return nil, bad("the %s is too long, not UTF-8, or holds control characters", f.name)
			}
		}
		if strings.TrimSpace(c.Name) == "" {
			return nil, bad("it has no name")
		}
		if c.Phone == "" && c.SMS == "" && c.URL == "" && c.Note == "" {
			return nil, bad("it has no phone, sms, url or note")
		}
		if c.URL != "" {
			u, err := url.Parse(c.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, bad("the url %q is not an http or https address", c.URL)
			}
		}
		out[i] = c
	}
	return out, nil
}

// DefaultCrisisResources returns the list Hearth ships with.
func DefaultCrisisResources() []CrisisResource {
	var doc struct {
		Resources []CrisisResource `json:"resources"`
	}
	d := json.NewDecoder(bytes.NewReader(defaultCrisisJSON))
	d.DisallowUnknownFields()
	if err := d.Decode(&doc); err != nil {
		panic("node: the shipped crisis_resources.json does not decode: " + err.Error())
	}
	if _, err := d.Token(); err != io.EOF {
		panic("node: the shipped crisis_resources.json has trailing data")
	}
	list, err := ValidateCrisisResources(doc.Resources)
	if err != nil {
		panic("node: the shipped crisis_resources.json is invalid: " + err.Error())
	}
	return list
}

// CrisisDirectory is the crisis resources a node offers: the shipped ones
// with every region the configuration names replaced by the configured
// resources, and a default region.
type CrisisDirectory struct {
	resources []CrisisResource
	region    string
}

// NewCrisisDirectory builds a directory from the shipped defaults and
// overrides: for each region that overrides names (RegionInternational
// included), the overrides replace the shipped resources of that region.
// region is the default region ("" for none). It returns
// ErrBadCrisisResource (wrapped) for an invalid override or region.
func NewCrisisDirectory(overrides []CrisisResource, region string) (*CrisisDirectory, error) {
	over, err := ValidateCrisisResources(overrides)
	if err != nil {
		return nil, err
	}
	region = NormalizeRegion(region)
	if region != "" && !validRegion(region) {
		return nil, fmt.Errorf("node: %w: region %q is not a two-letter country code or %s", ErrBadCrisisResource, region, RegionInternational)
	}
	replaced := make(map[string]bool)
	for _, c := range over {
		replaced[c.Region] = true
	}
	var all []CrisisResource
	for _, c := range DefaultCrisisResources() {
		if !replaced[c.Region] {
			all = append(all, c)
		}
	}
	all = append(all, over...)
	return &CrisisDirectory{resources: all, region: region}, nil
}

// Region returns the default region ("" for none).
func (d *CrisisDirectory) Region() string { return d.region }

// Regions returns the regions with resources of their own, sorted.
func (d *CrisisDirectory) Regions() []string {
	var out []string
	for _, c := range d.resources {
		if c.Region != RegionInternational && !slices.Contains(out, c.Region) {
			out = append(out, c.Region)
		}
	}
	slices.Sort(out)
	return out
}

// For returns the resources of region ("" for the default region) followed
// by the international ones, and the region it used (normalised; "" when
// none applies). A region with no resources of its own gets the
// international ones only.
func (d *CrisisDirectory) For(region string) (string, []CrisisResource) {
	region = NormalizeRegion(region)
	if region == "" {
		region = d.region
	}
	var out []CrisisResource
	for _, c := range d.resources {
		if region != "" && c.Region == region {
			out = append(out, c)
		}
	}
	for _, c := range d.resources {
		if c.Region == RegionInternational {
			out = append(out, c)
		}
	}
	return region, out
}

// CrisisResources returns the node's crisis resources for region ("" for
// the configured default): see CrisisDirectory.For.
func (n *Node) CrisisResources(region string) (string, []CrisisResource) {
	return n.crisis.For(region)
}

// CrisisDirectory returns the node's crisis directory.
func (n *Node) CrisisDirectory() *CrisisDirectory { return n.crisis }
