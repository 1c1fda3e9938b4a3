package config

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const exampleFile = "../casebot.example.toml"

// TestExampleDocumentsEveryKey: casebot.example.toml names exactly the keys
// Config has, and its values are the built-in defaults.
func TestExampleDocumentsEveryKey(t *testing.T) {
	var raw map[string]any
	if _, err := toml.DecodeFile(exampleFile, &raw); err != nil {
		t.Fatal(err)
	}
	var inFile []string
	for section, v := range raw {
		table, ok := v.(map[string]any)
		if !ok {
			t.Errorf("top-level key %q is not a section", section)
			continue
		}
		for k := range table {
			inFile = append(inFile, section+"."+k)
		}
	}
	sort.Strings(inFile)
	want := structKeys(reflect.TypeOf(Config{}), "")
	sort.Strings(want)
	if !slices.Equal(inFile, want) {
		t.Errorf("example keys differ from Config:\n file: %v\n want: %v", inFile, want)
	}

	c, err := Load(exampleFile, func(string) string { return "" })
	if err != nil {
		t.Fatalf("Load(example): %v", err)
	}
	c.File = ""
	if got, want := c.Summary(), Default().Summary(); got != want {
		t.Errorf("example values differ from the defaults:\n%s\nwant\n%s", got, want)
	}
}

// structKeys returns the dotted TOML keys of t's tagged fields.
func structKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, structKeys(f.Type, prefix+name+".")...)
			continue
		}
		keys = append(keys, prefix+name)
	}
	return keys
}
