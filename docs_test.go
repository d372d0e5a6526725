package jwtguard_test

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The documentation is checked like code: every relative link in every
// Markdown file of the repository resolves to a file of the repository
// (and to a heading of it, for an anchor), and every Go snippet of a
// README.md is a piece of an Example function of the package in that
// directory, so that it compiles and runs with the tests.

// markdownFiles returns the repository's Markdown files, slash-separated
// and relative to its root (the directory of this package), skipping
// hidden directories.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Markdown files found")
	}
	return files
}

// mdLine is a line of a Markdown file outside fenced code blocks, with its
// inline code spans blanked out.
type mdLine struct {
	n    int
	text string
}

var codeSpan = regexp.MustCompile("`+[^`]*`+")

// readMarkdown returns the prose lines of a Markdown file and its fenced
// code blocks (info string, lines, first line number).
func readMarkdown(t *testing.T, file string) (prose []mdLine, blocks []codeBlock) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	var cur *codeBlock
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if cur == nil {
				cur = &codeBlock{info: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), line: n + 1}
			} else {
				blocks = append(blocks, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, line)
			continue
		}
		prose = append(prose, mdLine{n, codeSpan.ReplaceAllString(line, "``")})
	}
	if cur != nil {
		t.Errorf("%s:%d: code block never closed", file, cur.line-1)
	}
	return prose, blocks
}

type codeBlock struct {
	info  string
	lines []string
	line  int // of the first line inside the fence
}

// anchors returns the anchors GitHub makes for a Markdown file's headings:
// lower case, spaces to hyphens, other punctuation dropped, and -1, -2…
// for repeats.
func anchors(prose []mdLine) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, l := range prose {
		text := strings.TrimLeft(l.text, "#")
		if len(text) == len(l.text) || len(l.text)-len(text) > 6 || !strings.HasPrefix(text, " ") {
			continue
		}
		text = strings.Trim(strings.TrimSpace(text), "#")
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if k := seen[a]; k > 0 {
			out[fmt.Sprintf("%s-%d", a, k)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

var mdLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

func TestMarkdownLinksResolve(t *testing.T) {
	files := markdownFiles(t)
	prose := map[string][]mdLine{}
	for _, f := range files {
		prose[f], _ = readMarkdown(t, f)
	}
	checked := 0
	for _, f := range files {
		// Link texts may wrap: match over the whole prose, fenced code
		// blocks left out, and count newlines for the line number.
		var text strings.Builder
		first := map[int]int{} // offset of a line in text -> its line number
		for _, l := range prose[f] {
			first[text.Len()] = l.n
			text.WriteString(l.text)
			text.WriteByte('\n')
		}
		all := text.String()
		for _, m := range mdLink.FindAllStringSubmatchIndex(all, -1) {
			target := all[m[2]:m[3]]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			checked++
			start := strings.LastIndexByte(all[:m[0]], '\n') + 1
			where := fmt.Sprintf("%s:%d: link %q", f, first[start], target)
			file, anchor, _ := strings.Cut(target, "#")
			if file == "" {
				file = f
			} else {
				if strings.HasPrefix(file, "/") {
					t.Errorf("%s: use a path relative to the file", where)
					continue
				}
				file = path.Join(path.Dir(f), file)
				if file == ".." || strings.HasPrefix(file, "../") {
					t.Errorf("%s: points outside the repository", where)
					continue
				}
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: no such file %s", where, file)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			lines, ok := prose[file]
			if !ok {
				t.Errorf("%s: an anchor in a file that is not Markdown", where)
				continue
			}
			if !anchors(lines)[anchor] {
				t.Errorf("%s: %s has no heading for #%s", where, file, anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found: the link pattern is broken")
	}
}

// exampleBodies returns the bodies of the Example functions in the test
// files of dir, one line per element, keyed by function name.
func exampleBodies(t *testing.T, dir string) map[string][]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	fset := token.NewFileSet()
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Example") || fn.Body == nil {
				continue
			}
			from := fset.Position(fn.Body.Lbrace).Offset + 1
			to := fset.Position(fn.Body.Rbrace).Offset
			out[fn.Name.Name] = strings.Split(string(src[from:to]), "\n")
		}
	}
	return out
}

// unindent drops the indentation and trailing spaces of each line, and
// leading and trailing blank lines.
func unindent(lines []string) []string {
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		out = append(out, strings.TrimRight(strings.TrimLeft(l, " \t"), " \t"))
	}
	for len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// contains reports whether lines holds block as consecutive lines.
func contains(lines, block []string) bool {
	for i := 0; i+len(block) <= len(lines); i++ {
		match := true
		for j := range block {
			if lines[i+j] != block[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func TestReadmeSnippetsAreExamples(t *testing.T) {
	found := 0
	for _, f := range markdownFiles(t) {
		if path.Base(f) != "README.md" {
			continue
		}
		_, blocks := readMarkdown(t, f)
		var examples map[string][]string
		for _, b := range blocks {
			if b.info != "go" {
				continue
			}
			found++
			if examples == nil {
				examples = exampleBodies(t, filepath.FromSlash(path.Dir(f)))
			}
			want := unindent(b.lines)
			ok := false
			for _, body := range examples {
				if contains(unindent(body), want) {
					ok = true
					break
				}
			}
			if !ok {
				t.Errorf("%s:%d: this Go block is not part of any Example function in %s/*_test.go; "+
					"copy it from one (indentation may differ) or write the Example", f, b.line, path.Dir(f))
			}
		}
	}
	if found == 0 {
		t.Fatal("no Go blocks found in README.md files: the block pattern is broken")
	}
}
