package fuzz

import "encoding/binary"

var nativeOrder binary.ByteOrder = binary.NativeEndian
