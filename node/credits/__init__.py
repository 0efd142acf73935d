"""Credits: holdings, transfers and transfer requests (reference §6), on the serial blocks the contract keeps."""
