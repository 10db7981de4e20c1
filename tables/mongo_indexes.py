from pymongo import ASCENDING, IndexModel

from upvendo.mongo import register_indexes

register_indexes(
    "table_sections",
    [
        IndexModel([("location_id", ASCENDING), ("name", ASCENDING)], name="location_name"),
        # One section per provider and location; hand-made sections have no `imported_by`.
        IndexModel(
            [("location_id", ASCENDING), ("imported_by", ASCENDING)],
            name="location_provider",
            unique=True,
            partialFilterExpression={"imported_by": {"$type": "string"}},
        ),
    ],
)
