"""Writers of reports, quote tables and codebook appendices."""
