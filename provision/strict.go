package provision

// Strict YAML decoding that reports problems by key path and line: the
// provisioning format and the host's configuration file both use it, so
// a typo reads "log.levle: unknown key; want one of format, level (line 3)"
// wherever it is made, never as yaml.v3's Go type dump.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeStrict decodes one YAML document into v (a pointer to a struct
// with yaml tags). Unknown keys, keys given twice, values of the wrong kind,
// syntax errors and a second document are errors; it returns them all as
// an ErrorList whose entries name the key path ("gateway.listeners[0].addr")
// and line, and quote no value. An empty document leaves v as it was.
func DecodeStrict(data []byte, v any) error {
	_, _, el := decodeStrict(data, v)
	return el.Err()
}

// decodeStrict is DecodeStrict that also returns the line of every key path
// and whether the document was empty.
func decodeStrict(data []byte, v any) (pos map[string]int, empty bool, el ErrorList) {
	known := knownKeysOf(reflect.TypeOf(v))
	// First pass: the node tree, for the line of every key.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, false, yamlErrors(err, nil, known)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, true, nil
	}
	pos = map[string]int{}
	byLine := map[int][]lineEntry{}
	byLine[root.Content[0].Line] = append(byLine[root.Content[0].Line], lineEntry{"", root.Content[0].ShortTag()})
	indexNode(root.Content[0], "", pos, byLine)

	// Second pass: the typed decode; unknown keys are errors.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return nil, false, yamlErrors(err, byLine, known)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, false, ErrorList{{Line: extra.Line, Msg: "more than one YAML document (---): put everything in one"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, false, yamlErrors(err, byLine, known)
	}
	return pos, false, nil
}

// knownKeysOf lists, for t and every struct type reachable from it, the
// yaml keys it accepts, by the type's name as yaml.v3 prints it in an
// "unknown field" error (an anonymous struct's name is its whole
// definition, which is why this is computed rather than written down).
func knownKeysOf(t reflect.Type) map[string]string {
	known := map[string]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		if _, seen := known[t.String()]; seen {
			return
		}
		known[t.String()] = ""
		var keys []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			keys = append(keys, name)
			walk(f.Type)
		}
		known[t.String()] = strings.Join(keys, ", ")
	}
	walk(t)
	return known
}

// lineEntry is a key or node that starts on a line: its path and, for a
// node, its YAML tag ("!!map", "!!seq", "!!str", …; "" for a key).
type lineEntry struct {
	path, tag string
}

// indexNode records the line of every key path under n, and which keys and
// nodes start on each line.
func indexNode(n *yaml.Node, path string, pos map[string]int, byLine map[int][]lineEntry) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if _, dup := pos[p]; !dup {
				pos[p] = k.Line
			}
			byLine[k.Line] = append(byLine[k.Line], lineEntry{p, ""})
			byLine[v.Line] = append(byLine[v.Line], lineEntry{p, v.ShortTag()})
			indexNode(v, p, pos, byLine)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			pos[p] = item.Line
			byLine[item.Line] = append(byLine[item.Line], lineEntry{p, item.ShortTag()})
			indexNode(item, p, pos, byLine)
		}
	}
}

var (
	reYAMLLine    = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
	reYAMLSyntax  = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	reUnknownKey  = regexp.MustCompile(`^field (.+?) not found in type (.+)$`)
	reUnmarshal   = regexp.MustCompile("(?s)^cannot unmarshal (!!\\w+)(?: `[^`]*`)? into (.+)$")
	reDuplicateKy = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// yamlErrors turns yaml.v3's errors into FieldErrors with key paths. Its
// messages quote (truncated) values; ours quote none, so no card data
// passes through.
func yamlErrors(err error, byLine map[int][]lineEntry, known map[string]string) ErrorList {
	var e errs
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := err.Error()
		if m := reYAMLSyntax.FindStringSubmatch(msg); m != nil {
			l, _ := strconv.Atoi(m[1])
			if strings.HasPrefix(m[2], "did not find expected") {
				// yaml.v3 reports its parser's (not its scanner's)
				// errors with a 0-based line.
				l++
			}
			e.add("", l, "YAML syntax: %s", m[2])
		} else {
			e.add("", 0, "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
		}
		return e.list
	}
	for _, s := range te.Errors {
		m := reYAMLLine.FindStringSubmatch(s)
		if m == nil {
			// Not yaml.v3's "line N: …" form: say so without quoting it
			// (its messages quote values).
			e.add("", 0, "YAML: a value of the wrong kind")
			continue
		}
		line, _ := strconv.Atoi(m[1])
		msg := m[2]
		entries := byLine[line]
		switch {
		case reUnknownKey.MatchString(msg):
			k := reUnknownKey.FindStringSubmatch(msg)
			e.add(keyPath(entries, k[1]), line, "unknown key; want one of %s", known[k[2]])
		case reDuplicateKy.MatchString(msg):
			k := reDuplicateKy.FindStringSubmatch(msg)
			e.add(keyPath(entries, k[1]), line, "key given twice (first at line %s)", k[2])
		case reUnmarshal.MatchString(msg):
			k := reUnmarshal.FindStringSubmatch(msg)
			e.add(nodePath(entries, k[1]), line, "want %s, got %s", describeTarget(k[2], known), describeTag(k[1]))
		default:
			e.add(nodePath(entries, ""), line, "%s", msg)
		}
	}
	return e.list
}

// keyPath is the path of the key named key on a line.
func keyPath(entries []lineEntry, key string) string {
	for _, en := range entries {
		if en.tag == "" && (en.path == key || strings.HasSuffix(en.path, "."+key)) {
			return en.path
		}
	}
	return key
}

// nodePath is the path of the first node with the tag on a line (the
// outermost), else of the last node there.
func nodePath(entries []lineEntry, tag string) string {
	last := ""
	for _, en := range entries {
		if en.tag == "" {
			continue
		}
		if en.tag == tag {
			return en.path
		}
		last = en.path
	}
	return last
}

func describeTarget(goType string, known map[string]string) string {
	if _, isStruct := known[goType]; isStruct {
		return "a mapping of keys"
	}
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case goType == "string":
		return "a single value"
	case strings.HasPrefix(goType, "provision.raw"), strings.HasPrefix(goType, "struct {"):
		return "a mapping of keys"
	case goType == "time.Duration":
		return "a duration such as 30s or 5m"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case goType == "bool":
		return "true or false"
	}
	return goType
}

func describeTag(tag string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!null":
		return "nothing"
	}
	return "a single value"
}
