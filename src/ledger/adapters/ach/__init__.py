"""ACH bank transfers: NACHA files (`nacha`) and encrypted bank account storage (`vault`)."""
