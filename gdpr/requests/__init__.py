"""Data-subject requests and their exports: the request lifecycle, its Art. 12 deadlines, the
export archive and where answered archives are kept until their end."""
