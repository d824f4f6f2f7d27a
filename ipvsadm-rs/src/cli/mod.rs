//! The ipvsadm 1.31 command line: option parsing, validation, listing/save formats, sorting, restore.
