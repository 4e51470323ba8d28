using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Imprint.Storage.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class CloudRematchLease : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "RematchLeaseOwner",
                table: "Clouds",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "RematchLeaseUntil",
                table: "Clouds",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "RematchLeaseOwner",
                table: "Clouds");

            migrationBuilder.DropColumn(
                name: "RematchLeaseUntil",
                table: "Clouds");
        }
    }
}
