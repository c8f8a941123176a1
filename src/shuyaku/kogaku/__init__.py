"""高額療養費 (kogaku): effective-dated cap tables, the monthly calculation, the 多数回 count."""
