"""What maintenance acts on: the slim view of a Deployment or StatefulSet, its pending state, revisions."""
