package user

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

const testPasswd = `# comment line
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

+nisuser::::::
bob:x:1000:1000:Bob,,,:/home/bob:/bin/sh
broken:x:notanumber:1:::
nohome:x:1001:1001
dup:x:1000:1005::/elsewhere:/bin/sh
1234:x:2000:2000::/home/digits:/bin/sh
`

const testGroup = `root:x:0:
daemon:x:1:
bob:x:1000:
staff:x:50:alice, bob
audio:x:29:bob
broken:x:nope:bob
wheel:x:10:root,bob
staff2:x:50:bob
`

func TestLookupUser(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		passwd     string // "" with noPasswd = missing file
		noPasswd   bool
		noGroup    bool
		wantUID    uint32
		wantGID    uint32
		wantGroups []uint32
		wantErr    string
	}{
		{name: "by name with member groups", spec: "bob", wantUID: 1000, wantGID: 1000, wantGroups: []uint32{50, 29, 10}},
		{name: "by uid finds the name and groups", spec: "1000", wantUID: 1000, wantGID: 1000, wantGroups: []uint32{50, 29, 10}},
		{name: "root is a member of wheel", spec: "root", wantUID: 0, wantGID: 0, wantGroups: []uint32{10}},
		{name: "daemon has no member groups", spec: "daemon", wantUID: 1, wantGID: 1},
		{name: "numeric is a uid, not a name", spec: "1234", wantUID: 1234, wantGID: 0},
		{name: "unknown uid uses gid 0", spec: "4242", wantUID: 4242, wantGID: 0},
		{name: "name and group name", spec: "bob:audio", wantUID: 1000, wantGID: 29},
		{name: "name and gid", spec: "bob:7", wantUID: 1000, wantGID: 7},
		{name: "uid and gid, unknown", spec: "4242:4343", wantUID: 4242, wantGID: 4343},
		{name: "uid and group name", spec: "0:staff", wantUID: 0, wantGID: 50},
		{name: "empty group part is no group", spec: "bob:", wantUID: 1000, wantGID: 1000, wantGroups: []uint32{50, 29, 10}},
		{name: "no passwd, numeric", spec: "1000:1000", noPasswd: true, noGroup: true, wantUID: 1000, wantGID: 1000},
		{name: "no group file", spec: "bob", noGroup: true, wantUID: 1000, wantGID: 1000},
		{name: "unknown name", spec: "alice", wantErr: `user "alice": not found in /etc/passwd`},
		{name: "no passwd, name", spec: "bob", noPasswd: true, wantErr: `user "bob": not found in /etc/passwd`},
		{name: "unknown group", spec: "bob:video", wantErr: `group "video": not found in /etc/group`},
		{name: "malformed entries are not matched", spec: "broken", wantErr: `user "broken": not found in /etc/passwd`},
		{name: "empty", spec: "", wantErr: `user "": empty user name`},
		{name: "empty user part", spec: ":50", wantErr: `user ":50": empty user name`},
		{name: "uid too big", spec: "4294967296", wantErr: `user "4294967296": invalid uid: strconv.ParseUint: parsing "4294967296": value out of range`},
		{name: "uid -1", spec: "4294967295", wantErr: `user "4294967295": invalid uid: value out of range`},
		{name: "gid -1", spec: "bob:4294967295", wantErr: `group "4294967295": invalid gid: value out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var passwd, group io.Reader
			if !tt.noPasswd {
				passwd = strings.NewReader(testPasswd)
			}
			if !tt.noGroup {
				group = strings.NewReader(testGroup)
			}
			uid, gid, groups, err := LookupUser(passwd, group, tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if uid != tt.wantUID || gid != tt.wantGID || !reflect.DeepEqual(groups, tt.wantGroups) {
				t.Errorf("LookupUser(%q) = %d, %d, %v; want %d, %d, %v",
					tt.spec, uid, gid, groups, tt.wantUID, tt.wantGID, tt.wantGroups)
			}
		})
	}
}

func TestLookupUserLongLine(t *testing.T) {
	group := "big:x:77:" + strings.Repeat("someone,", maxLineLength/8) + "bob\n"
	_, _, _, err := LookupUser(strings.NewReader(testPasswd), strings.NewReader(group), "bob")
	if err == nil || !strings.HasPrefix(err.Error(), "read /etc/group: ") {
		t.Errorf("error = %v, want a read /etc/group error", err)
	}
}

func TestHomeDir(t *testing.T) {
	tests := []struct {
		name     string
		uid      uint32
		noPasswd bool
		want     string
	}{
		{name: "root", uid: 0, want: "/root"},
		{name: "first entry wins", uid: 1000, want: "/home/bob"},
		{name: "entry without home field", uid: 1001, want: "/"},
		{name: "unknown uid", uid: 31337, want: "/"},
		{name: "no passwd file", uid: 0, noPasswd: true, want: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var passwd io.Reader
			if !tt.noPasswd {
				passwd = strings.NewReader(testPasswd)
			}
			if got := HomeDir(passwd, tt.uid); got != tt.want {
				t.Errorf("HomeDir(%d) = %q, want %q", tt.uid, got, tt.want)
			}
		})
	}
}

func TestLookupUserFS(t *testing.T) {
	full := fstest.MapFS{
		"etc/passwd": {Data: []byte(testPasswd)},
		"etc/group":  {Data: []byte(testGroup)},
	}
	uid, gid, groups, err := LookupUserFS(full, "bob")
	if err != nil || uid != 1000 || gid != 1000 || !reflect.DeepEqual(groups, []uint32{50, 29, 10}) {
		t.Errorf("LookupUserFS(bob) = %d, %d, %v, %v; want 1000, 1000, [50 29 10], nil", uid, gid, groups, err)
	}
	if home := HomeDirFS(full, 1000); home != "/home/bob" {
		t.Errorf("HomeDirFS(1000) = %q, want /home/bob", home)
	}

	empty := fstest.MapFS{}
	uid, gid, groups, err = LookupUserFS(empty, "65534:65534")
	if err != nil || uid != 65534 || gid != 65534 || groups != nil {
		t.Errorf("LookupUserFS without files = %d, %d, %v, %v; want 65534, 65534, nil, nil", uid, gid, groups, err)
	}
	if _, _, _, err := LookupUserFS(empty, "bob"); err == nil || err.Error() != `user "bob": not found in /etc/passwd` {
		t.Errorf("LookupUserFS(bob) without files: error = %v", err)
	}
	if home := HomeDirFS(empty, 0); home != "/" {
		t.Errorf("HomeDirFS without passwd = %q, want /", home)
	}

	// A directory where the file should be is an error, not "missing".
	dirPasswd := fstest.MapFS{"etc/passwd/x": {Data: []byte("x")}}
	_, _, _, err = LookupUserFS(dirPasswd, "0")
	if err == nil || !strings.Contains(err.Error(), "/etc/passwd") {
		t.Errorf("LookupUserFS with a directory as /etc/passwd: error = %v", err)
	}
	var pathErr *fs.PathError
	if err != nil && !errors.As(err, &pathErr) {
		t.Errorf("error does not wrap the fs error: %#v", err)
	}
}

func TestNilFileIsMissing(t *testing.T) {
	// os.Open returns a nil *os.File with its error; passed on as an
	// io.Reader it is not == nil but must still mean "no file".
	group, openErr := os.Open(filepath.Join(t.TempDir(), "group"))
	if openErr == nil {
		t.Fatal("opened a file that does not exist")
	}
	uid, gid, groups, err := LookupUser(strings.NewReader(testPasswd), group, "bob")
	if err != nil || uid != 1000 || gid != 1000 || groups != nil {
		t.Errorf("LookupUser with nil *os.File group = %d, %d, %v, %v; want 1000, 1000, nil, nil", uid, gid, groups, err)
	}
	var noPasswd *os.File
	if home := HomeDir(noPasswd, 0); home != "/" {
		t.Errorf("HomeDir(nil *os.File) = %q, want /", home)
	}
}

func TestNameFS(t *testing.T) {
	fsys := fstest.MapFS{"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n")}}
	for uid, want := range map[uint32]string{0: "root", 1000: "bob", 4242: "4242"} {
		if got := NameFS(fsys, uid); got != want {
			t.Errorf("NameFS(%d) = %q, want %q", uid, got, want)
		}
	}
	if got := NameFS(fstest.MapFS{}, 0); got != "0" {
		t.Errorf("NameFS without /etc/passwd = %q, want \"0\"", got)
	}
}
