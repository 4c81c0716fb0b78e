package values

// masked reports whether key contains one of the redact key fragments,
// ignoring the case of ASCII letters and treating "-" as "_", so that the
// HTTP header X-Api-Key matches api_key. It does not allocate.
func (s *Snapshotter) masked(key string) bool {
	for i := 0; i < len(key); i++ {
		if !s.first[key[i]] {
			continue
		}
		rest := key[i:]
		for _, k := range s.keys {
			if len(k) <= len(rest) && hasPrefixFold(rest, k) {
				return true
			}
		}
	}
	return false
}

// hasPrefixFold reports whether s starts with prefix, a fragment folded by
// fold, folding s the same way.
func hasPrefixFold(s, prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		if fold(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// fold maps ASCII upper-case letters to lower case and "-" to "_".
func fold(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	case c == '-':
		return '_'
	}
	return c
}

// foldString applies fold to every byte of s.
func foldString(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = fold(c)
	}
	return string(b)
}
