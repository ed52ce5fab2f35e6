package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type fuzzBody struct {
	Name  string            `json:"name"`
	Count int               `json:"count"`
	Tags  []string          `json:"tags"`
	Inner *fuzzBody         `json:"inner"`
	Attrs map[string]string `json:"attrs"`
}

func TestCheckJSONKeys(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"name":"a","count":1}`:              true,
		`{"inner":{"name":"a"},"name":"b"}`:   true,
		`{"tags":["name","name"]}`:            true,
		`{"attrs":{"k":"v","K2":"v"}}`:        true,
		`{"name":"a","name":"b"}`:             false,
		`{"name":"a","NAME":"b"}`:             false,
		`{"inner":{"count":1,"count":2}}`:     false,
		`{"attrs":{"k":"v","k":"w"}}`:         false,
		`{"tags":[{"a":1,"a":2}]}`:            false,
		`{"inner":{"name":"x"},"inner":null}`: false,
		"{\"na\u017fe\":1,\"naSe\":2}":        false,
	} {
		err := checkJSONKeys([]byte(body))
		if (err == nil) != ok {
			t.Errorf("%s: %v", body, err)
		}
	}
	deep := ""
	for range maxJSONDepth + 1 {
		deep += "["
	}
	if err := checkJSONKeys([]byte(deep)); err == nil {
		t.Error("nesting beyond the limit accepted")
	}
}

// FuzzDecodeJSON: the strict decoder never panics on any body, always
// answers with an *APIError when it refuses, and what it accepts survives a
// round trip.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","count":1,"tags":["x"],"inner":{"name":"b"},"attrs":{"k":"v"}}`,
		`{"name":"a","name":"b"}`, `{"x":1}`, `{} {}`, `{"count":"1"}`, `[`, ``, `null`, `{"inner":{"inner":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v fuzzBody
		err := decodeJSONBytes(body, &v)
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != 400 {
				t.Fatalf("refusal is not a 400 APIError: %v", err)
			}
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var w fuzzBody
		if err := decodeJSONBytes(b, &w); err != nil {
			t.Fatalf("re-encoding %s refused: %v", b, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip changed %+v into %+v", v, w)
		}
	})
}
