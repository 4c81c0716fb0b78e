package otelspans

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flowtrace/flowtrace"
)

func TestOutputsMergeLaterKeysWinning(t *testing.T) {
	var o outputs
	assert.Equal(t, "", o.json(), "none")
	o.add(flowtrace.FieldsOf(map[string]any{}))
	assert.Equal(t, "", o.json(), "an empty set adds nothing")
	o.add(flowtrace.FieldsOf(map[string]any{"b": 1, "a": "x"}))
	assert.Equal(t, `{"a":"x","b":1}`, o.json(), "one set, as it is")
	o.add(flowtrace.FieldsOf(map[string]any{"b": 2, "c": true}))
	assert.Equal(t, `{"a":"x","b":2,"c":true}`, o.json(), "merged, later keys winning")
	o.add(flowtrace.FieldsOf(map[string]any{"a": nil}))
	assert.Equal(t, `{"a":null,"b":2,"c":true}`, o.json())
	assert.Equal(t, jsonString(map[string]any{"z": 1, "y": []any{"q"}}), fieldsJSON(flowtrace.FieldsOf(map[string]any{"z": 1, "y": []any{"q"}})), "Fields and maps encode alike")
}
