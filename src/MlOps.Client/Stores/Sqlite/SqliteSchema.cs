namespace MlOps.Client.Stores;

/// <summary>The schema <see cref="SqliteTrackingStore.Open(string, SqliteSchema, TimeProvider?)"/> creates a new file in.</summary>
public enum SqliteSchema
{
    /// <summary>MLflow 2.22's (alembic <c>0584bdc529eb</c>): runs, models, registry; MLflow 3 upgrades it in place when it opens it.</summary>
    Mlflow2,

    /// <summary>MLflow 3.5–3.6's (alembic <c>bf29a5ff90ea</c>): also traces; MLflow 2.x cannot open it.</summary>
    Mlflow3,
}
