package jsonvalue_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flowtrace/flowtrace/internal/jsonvalue"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want any
	}{
		{"integer", `7`, int64(7)},
		{"float", `0.25`, 0.25},
		{"beyond int64", `1e30`, 1e30},
		{"string", `"x"`, "x"},
		{"null", `null`, nil},
		{"invalid", `{`, nil},
		{"nested", `{"a":[1,2.5,{"b":3}],"c":true}`, map[string]any{"a": []any{int64(1), 2.5, map[string]any{"b": int64(3)}}, "c": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, jsonvalue.Decode([]byte(tc.raw)))
		})
	}
}
