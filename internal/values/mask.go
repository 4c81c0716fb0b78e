package values

// masked reports whether key contains one of the redact key fragments,
// ignoring the case of ASCII letters and the separators '_' and '-', so
// that the HTTP header X-Api-Key and the Go field PrivateKey match api_key
// and private_key. It does not allocate.
func (s *Snapshotter) masked(key string) bool {
	for i := 0; i < len(key); i++ {
		if !s.first[key[i]] {
			continue
		}
		for _, k := range s.keys {
			if spells(key[i:], k) {
				return true
			}
		}
	}
	return false
}

// spells reports whether s starts with frag, a fragment folded by
// foldString, once s is folded the same way: ASCII case ignored, and the
// separators '_' and '-' skipped, so that "api_key" is found in "ApiKey",
// "X-API-KEY" and "api_key" alike.
func spells(s, frag string) bool {
	j := 0
	for i := 0; i < len(s) && j < len(frag); i++ {
		c := s[i]
		if separator(c) {
			continue
		}
		if fold(c) != frag[j] {
			return false
		}
		j++
	}
	return j == len(frag)
}

func separator(c byte) bool { return c == '_' || c == '-' }

// fold lowers an ASCII letter.
func fold(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldString folds a fragment: ASCII letters lowered, separators removed.
func foldString(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if !separator(s[i]) {
			b = append(b, fold(s[i]))
		}
	}
	return string(b)
}
