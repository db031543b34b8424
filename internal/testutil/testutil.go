// Package testutil holds helpers shared by husk's tests in several
// packages. It is imported only from _test.go files; do not use it in
// husk itself.
package testutil

import (
	"reflect"

	"golang.org/x/sys/unix"
)

// FillAll sets every exported field reachable from v to a non-zero value,
// for round-trip tests that must notice a field nobody handles: two
// elements per slice, one entry per map, allocated pointers, negative
// signed integers, and str(depth) for strings (and map keys).
func FillAll(v reflect.Value, str func(depth int) string) {
	fill(v, str, 0)
}

func fill(v reflect.Value, str func(int) string, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), str, depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), str, depth+1)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), str, depth+1)
		fill(v.Index(1), str, depth+2)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		key := reflect.New(v.Type().Key()).Elem()
		fill(key, str, depth+1)
		val := reflect.New(v.Type().Elem()).Elem()
		fill(val, str, depth+1)
		m.SetMapIndex(key, val)
		v.Set(m)
	case reflect.String:
		v.SetString(str(depth))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-int64(depth + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(depth + 1))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// HasEffectiveCap reports whether the calling thread has capability c in
// its effective set.
func HasEffectiveCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(c%32)) != 0
}
