// filled in by the dispatch area
