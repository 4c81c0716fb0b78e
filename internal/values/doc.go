// Package values takes snapshots of the values callers hand to flowtrace:
// component inputs and metadata, log messages, outputs.
//
// A snapshot is taken on the caller's goroutine before the recording call
// returns, and is then read by exporters on other goroutines. It is a tree
// of map[string]any, []any, string, bool, int64, uint64, float64 and nil
// that shares no mutable memory with the caller's value, so the caller may
// change its maps as soon as the call returns, and that json.Marshal always
// accepts. Taking it never modifies the caller's value and never panics.
// Snapshots are read-only by contract. Still, no two snapshots share a map
// or a non-empty slice (the empty []any, which cannot be written through,
// is shared), so that a reader breaking the contract damages one record,
// not every run of the process.
//
// # Conversions
//
// A value is converted by the first rule that applies:
//
//  1. nil and nil pointers become nil; the methods of a nil pointer are not
//     called. Nil maps and slices become nil too, by rules 9 and 10.
//     A value of one of Config.SecretTypes becomes Masked, and a
//     *url.Userinfo too. A Valuer becomes the snapshot of what its
//     TraceValue returns (followed up to MaxDepth Valuers; a panic is
//     recorded as "!panic in TraceValue: …"). A url.URL becomes its
//     string with its user info masked.
//  2. time.Time becomes an RFC 3339 string with nanoseconds
//     (time.RFC3339Nano: trailing zeros of the fraction are dropped), and
//     time.Duration its String, "1.5s".
//  3. A json.Marshaler is called, and its output decoded and snapshotted
//     like any other value: it is masked and limited too. Output larger than
//     MaxBytes is not decoded; it becomes MarkerBytes.
//  4. An error becomes its Error message.
//  5. A fmt.Stringer becomes its String.
//
// Rules 3 to 5 do not apply to a type that can hold a masked field or a
// value of a secret type, in a field (exported or not), element or
// pointee, at any depth its type shows (see Masking): its methods could
// print what is masked, so it is walked field by field like any struct,
// slice or map, and a map key of its type is formatted from its masked
// snapshot. Rules 3 and 5 do not apply either to a value that holds such a
// value behind an interface, found by looking at up to 1024 values of it
// without calling any method. An error struct whose secrets are in
// unexported fields only is recorded as its message, with the strings of
// those fields replaced by Masked. An error that wraps such
// an error (Unwrap() error or Unwrap() []error) has the wrapped error's
// message, wherever it appears in its own, replaced by the text of the
// wrapped error's masked snapshot.
//  6. Booleans stay booleans; signed integers become int64, unsigned ones
//     and uintptr uint64, floats float64. NaN, +Inf and -Inf, which JSON
//     cannot carry, become the strings "NaN", "+Inf" and "-Inf". Complex
//     numbers become strings, "(1+2i)".
//  7. Strings stay strings; invalid UTF-8 is replaced by U+FFFD as
//     strings.ToValidUTF8 does.
//  8. Byte slices and arrays become a marker with their length and first
//     32 bytes, quoted if they are text, in hex otherwise:
//     `![]byte len=1234 "{\"id\":1…"…` or `![4]byte len=4 0xdeadbeef`.
//  9. Other slices and arrays become []any, nil slices nil.
//  10. Maps become map[string]any. String keys are kept; integer, float
//     and boolean keys are formatted by strconv, others by fmt.Sprint; nil
//     maps become nil.
//     Keys that format alike collide and one value is kept.
//  11. Structs become map[string]any of their exported fields, under their
//     json tag name or else their Go name. Fields tagged `json:"-"` or
//     `flowtrace:"-"` are skipped; other json options, omitempty among
//     them, are ignored, so zero values are recorded. Fields of embedded
//     structs without a json name are promoted as encoding/json does,
//     except that of two fields of the same name at the same depth the
//     first is kept, where encoding/json drops both.
//  12. Pointers and interfaces are followed.
//  13. Channels, functions and unsafe pointers become a marker of their
//     type, "!chan int", "!func()".
//
// The methods of rules 3 to 5 are looked up on the value and, when it is
// addressable (an element of a slice, a field reached through a pointer),
// on a pointer to it, as encoding/json does; a struct that embeds a type
// with such a method has it too. A panic in String, Error or MarshalJSON is
// recovered and recorded as "!panic in String: …"; a MarshalJSON error as
// "!error in MarshalJSON: …".
//
// # Masking
//
// A value is masked, replaced by Masked ("*****") with everything under it,
// when the key or field that holds it is masked, at any depth: in maps of
// any type, structs, slices and arrays of them, behind pointers and
// interfaces, and in what MarshalJSON and TraceValue return. Masked values
// are never converted: their methods are not called.
//
// Keys are matched by their words. A key is split at every ASCII byte that
// is neither a letter nor a digit, at a lower-case letter or digit
// followed by an upper-case letter ("apiKey"), before the last capital of
// a run followed by a lower-case letter ("APIKey"), and between letters
// and digits; ASCII case is ignored, other bytes must match exactly. A key
// is masked when any word is one of password, passwd, secret, secrets,
// credential, credentials, authorization, cookie or apikey; when its last
// word that is not a number is token or ends with token ("accesstoken");
// or when its last two words are api key, private key, access key or
// secret key, or its last word is one of them glued. So access_token and
// X-Api-Key are masked, and max_tokens, TokenUsage and token_count kept.
// Config.RedactKeys adds keys, matched when consecutive words of the key,
// glued, spell one; Config.AllowKeys keeps keys equal to one of them
// (case and separators ignored) that the default rules would mask. A
// non-string map key is matched as it is formatted, a long key before it
// is cut. A struct field matches by its json name or its Go name, and is
// masked whatever its name when tagged `flowtrace:"secret"`; a secret
// embedded struct masks all its fields. A value of one of
// Config.SecretTypes is masked wherever it is.
//
// Strings are cleaned too, values and keys alike: the user info of a URL
// ("postgres://app:*****@db", or "https://*****@host" without a password)
// and the values of masked keys in JSON text ({"api_key":"*****"}, also
// quoted once more, or cut) are masked. The first bytes of a []byte are
// cleaned before they are cut, so that a JSON body shows no secret.
//
// Every masked string of at least MinSecretLen bytes is reported in
// Budget.Found; a Budget whose Seen holds them replaces them by Masked
// wherever they occur in the strings snapshotted with it (see Secrets).
//
// A Config.Redactor is then asked about every value that was not masked,
// with its path: the map keys, field names and slice indices from the root
// of the value (Map does not ask about the map itself). Pointers are
// followed before it is asked: it sees a string, not a *string. If it returns true
// its replacement is snapshotted instead, without asking it again about
// what is below; a panic in it is recorded as "!panic in Redactor: …".
//
// # Limits
//
// What is cut leaves a marker, so that a reader knows data is missing:
//
//   - MaxString (default 64 KiB) bounds the bytes of each string and map
//     key. A longer one is cut at a rune boundary, before it is copied, and
//     ends with "…(truncated 48.9 MiB)". The prefix is copied so that the
//     snapshot does not keep the caller's large string alive; strings that
//     fit are shared, which is safe as strings are immutable.
//   - MaxItems (default 1000) bounds the entries of each map, slice and
//     array. A slice keeps its first MaxItems elements, then the element
//     "…(truncated 5000 more items)". A map keeps the MaxItems entries with
//     the smallest keys, so that what is kept does not depend on iteration
//     order, plus the entry MarkerKey ("…"): "(truncated 5000 more items)".
//   - MaxDepth (default 32) bounds the nesting of maps, slices, arrays and
//     structs; one nested deeper becomes MarkerDepth ("!max depth"). It also
//     bounds chains of pointers.
//   - A map, slice or pointer that contains itself becomes MarkerCycle
//     ("!cycle") where it recurs; a value shared by two branches is not a
//     cycle and is recorded twice.
//   - MaxBytes (default 512 KiB) bounds the approximate JSON size of all the
//     values snapshotted with one Budget: the values of one event. Strings
//     and keys are measured as encoding/json escapes them, numbers by their
//     digits (floats that are not integers as 24 bytes). The value that does
//     not fit is cut, a string with the suffix "…(truncated 1.2 MiB: max
//     event bytes)", anything else to MarkerBytes ("!max event bytes"), and
//     every value after it too; a map or slice left unfinished ends with
//     "(truncated 12 more items: max event bytes)". Markers may exceed
//     MaxBytes by their own size. Which entries of a map fit in the budget
//     depends on iteration order.
//
// # Performance
//
// Common types take a fast path without reflection: strings, booleans,
// numbers, map[string]any, []any, map[string]string, []string, time.Time,
// time.Duration and []byte. Strings and numbers already of an output type
// are not boxed again, masking allocates nothing, paths for the Redactor are
// only built when there is one, and what the Snapshotter learns about a
// struct type is cached. So is, for up to 512 keys of up to 32 bytes,
// whether a map key is masked and the size of its entry: a key seen
// before costs a hash, where the rules scan it and split it into words. A snapshot of map[string]any{"q": "hello", "n": 3}
// allocates the new map only, one of an empty map the new empty map, and
// one of a nil map nothing.
package values
