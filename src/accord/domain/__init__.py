"""Pure logic over plain data: references for every derived quantity, no I/O, no clock."""
