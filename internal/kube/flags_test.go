package kube

import (
	"reflect"
	"testing"
)

func TestParseSelector(t *testing.T) {
	got, err := parseSelector(" sandbox=gvisor , zone=a")
	if err != nil || !reflect.DeepEqual(got, map[string]string{"sandbox": "gvisor", "zone": "a"}) {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := parseSelector(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	if _, err := parseSelector("=x"); err == nil {
		t.Error("accepted an empty key")
	}
}
