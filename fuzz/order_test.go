package fuzz

import "encoding/binary"

// byteOrders are both orders an object can be in; ldimm64 works on each.
var byteOrders = []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}
