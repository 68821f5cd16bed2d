"""Mathematics only: closed forms, recursions, saddle points, DMFT fixed points."""
